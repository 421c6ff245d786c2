"""AppTest for every page: the frame, Home and Train, driven by widget keys."""

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("app_test_pages")
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if page:
        at.switch_page(page)
    return at.run()


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


def _settings_keys(at: AppTest) -> set[str]:
    return {w.key for w in [*at.sidebar.selectbox, *at.sidebar.text_input, *at.sidebar.number_input]}


def test_home_renders_without_the_training_settings():
    at = _app()
    assert not _errors(at)
    assert at.title[0].value == "Optimizer playground"
    assert not {"dataset", "hidden", "optimizer", "lr"} & _settings_keys(at)


@pytest.mark.parametrize("page", ["pages/surfaces.py", "pages/deep_linear.py"])
def test_pages_without_runs_have_no_training_settings(page):
    at = _app(page)
    assert not _errors(at)
    assert not {"dataset", "hidden", "optimizer", "lr"} & _settings_keys(at)


def test_settings_survive_a_page_without_them():
    """Streamlit forgets an undrawn widget's value; the sidebar puts it back when a page shows the settings again."""
    at = _app("pages/train.py")
    assert {"dataset", "hidden", "optimizer", "lr"} <= _settings_keys(at)
    at.text_input(key="hidden").set_value("16,8").run()
    at.number_input(key="lr").set_value(0.05).run()
    at.switch_page("pages/surfaces.py").run()
    assert "hidden" not in _settings_keys(at)
    at.switch_page("pages/interpolation.py").run()
    assert at.text_input(key="hidden").value == "16,8" and at.number_input(key="lr").value == 0.05
    at.switch_page("pages/train.py").run()
    assert at.session_state["config"].hidden == (16, 8) and at.session_state["config"].lr == 0.05
    assert not _errors(at)


def test_train_page_step_draws_every_monitor():
    at = _app("pages/train.py")
    assert "Press **Train**" in at.info[0].value
    at.button(key="train_step").click().run()
    assert not _errors(at)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 6  # grad norm, error, loss, interpolation, straying, decision regions
    titles = " ".join(str(c.proto.spec) for c in charts)
    for word in ("Gradient norm", "Classification error", "Loss on the line", "Straying", "Decision regions"):
        assert word in titles
    assert "Step 1 of 3,000" in at.get("progress")[0].proto.text
    assert {m.label for m in at.metric} >= {"Monotone on [0, 1]", "Barrier", "Max residual", "Max ρ = r/‖θ‖"}


def test_train_runs_in_background_and_survives_page_switch():
    at = _app("pages/train.py")
    at.number_input(key="steps").set_value(200).run()
    at.button(key="train_start").click().run()
    live = at.session_state["live_run"]
    deadline = time.monotonic() + 60
    while live.training and time.monotonic() < deadline:
        time.sleep(0.05)
    assert live.touch().step == 200 and live.touch().status == "done"
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/train.py").run()
    assert at.session_state["live_run"] is live
    assert "Step 200 of 200" in at.get("progress")[0].proto.text
    assert not _errors(at)


def test_curvature_monitor_switches_on_mid_run_and_draws_its_charts():
    at = _app("pages/train.py")
    at.number_input(key="steps").set_value(120).run()
    at.button(key="train_step").click().run()
    assert "Turn on **Curvature monitor**" in " ".join(c.value for c in at.caption)
    live = at.session_state["live_run"]
    at.toggle(key="curvature_monitor").set_value(True).run()  # a hot change: the same run goes on
    assert at.session_state["live_run"] is live and live.config.curvature_monitor
    at.button(key="train_start").click().run()
    deadline = time.monotonic() + 60
    while live.training and time.monotonic() < deadline:
        time.sleep(0.05)
    at.run()
    assert not _errors(at)
    titles = " ".join(str(c.proto.spec) for c in at.get("vega_lite_chart"))
    for words in ("Eq. 8.10 terms", "Curvature ratio", "Sharpness"):
        assert words in titles
    labels = {m.label: m.value for m in at.metric}
    assert float(labels["λ_max"]) > 0 and labels["Steps with ratio > 1"].endswith("%")
    metrics = live.snapshot().metrics
    assert metrics.loc[metrics.step <= 1, "gHg"].isna().all() and metrics.gHg.iloc[-1] == metrics.gHg.iloc[-1]


def test_learning_rate_change_keeps_progress():
    at = _app("pages/train.py")
    at.button(key="train_step").click().run()
    at.button(key="train_step").click().run()
    live = at.session_state["live_run"]
    at.number_input(key="lr").set_value(0.01).run()
    assert at.session_state["live_run"] is live and live.touch().step == 2
    assert live.config.lr == 0.01 and live.snapshot().config.lr == 0.01


def test_structural_change_asks_for_a_new_run():
    at = _app("pages/train.py")
    at.button(key="train_step").click().run()
    old = at.session_state["live_run"]
    at.selectbox(key="dataset").select("digits").run()
    assert any("dataset" in i.value for i in at.info)
    at.button(key="train_step").click().run()
    new = at.session_state["live_run"]
    assert new is not old and new.config.dataset == "digits" and new.touch().step == 1
    assert len(at.get("vega_lite_chart")) == 6  # digits: the norms chart replaces the decision regions


def test_bad_settings_show_a_message_not_a_traceback():
    at = _app("pages/train.py")
    at.text_input(key="hidden").input("32,abc").run()
    assert any("hidden" in e.value for e in at.sidebar.error)
    assert at.button(key="train_start").disabled
    assert not at.exception


def test_newton_on_a_big_model_refuses_clearly_and_keeps_the_old_run():
    at = _app("pages/train.py")
    at.button(key="train_step").click().run()
    old = at.session_state["live_run"]
    at.selectbox(key="optimizer").select("newton").run()
    at.text_input(key="hidden").input("256,256").run()
    at.button(key="train_step").click().run()
    assert any("Hessian" in e.value and "limit" in e.value for e in at.error)
    assert not at.exception
    assert at.session_state["live_run"] is old and old.touch().step == 1


def test_diverging_run_pauses_with_an_explanation():
    at = _app("pages/train.py")
    at.selectbox(key="activation").select("relu").run()
    at.selectbox(key="optimizer").select("sgd").run()
    at.number_input(key="lr").set_value(900.0).run()
    at.number_input(key="init_scale").set_value(3.0).run()
    at.text_input(key="hidden").input("64,64").run()
    for _ in range(5):
        at.button(key="train_step").click().run()
    assert any("diverged" in e.value for e in at.error)
    assert not at.exception


def _full_pool(monkeypatch):
    """A pool whose trainer has no room for any run (a memory budget below one run)."""
    from core.train import pool

    full = pool.Pool(pool.Settings(trainers=1, memory_mb=64, ray_address=None),
                     make=lambda: pool.LocalTrainer(2**20, 1))
    monkeypatch.setattr(pool, "_pool", full)
    return full


def test_train_on_a_full_server_waits_in_line_and_says_so(monkeypatch):
    full = _full_pool(monkeypatch)
    at = _app("pages/train.py")
    at.button(key="train_start").click().run()
    assert not _errors(at)
    live = at.session_state["live_run"]
    assert live.waiting and live.wants_start
    assert "waiting" in at.get("progress")[0].proto.text
    assert any("trainers are full" in i.value for i in at.info)
    live.close()
    full.shutdown()


def test_reset_and_train_in_one_rerun_start_a_new_run_training():
    """Clicks that Streamlit merges into one rerun lose their order; Reset then Train means "start again"."""
    at = _app("pages/train.py")
    at.number_input(key="steps").set_value(100_000).run()
    at.button(key="train_step").click().run()
    old = at.session_state["live_run"]
    at.button(key="train_start").click()
    at.button(key="train_reset").click()
    at.run()
    live = at.session_state["live_run"]
    assert live is not old and live.training
    assert not _errors(at)
    live.close()


def test_a_parked_run_never_drawn_waits_for_a_trainer_without_a_traceback(monkeypatch):
    """A run that was dropped from memory (parked) before its page took a snapshot, while no trainer has room to
    take it up: the page says so and waits, instead of failing."""
    from core.model.config import TrainConfig
    from core.train.live import LiveRun

    live = LiveRun(TrainConfig(hidden=(4,), steps=5, n_samples=200))
    live.step_once()
    live._pool = _full_pool(monkeypatch)  # its trainer is gone, and the one that would take it up is full
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/train.py")
    at.session_state["live_run"], at.session_state["live_run_name"] = live, "#1"
    at.run()
    assert not _errors(at)
    assert any("trainers are full" in i.value for i in at.info)
    live.close()
    live._pool.shutdown()
