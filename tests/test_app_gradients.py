"""AppTest for the Gradients page: inexact gradients at a point of a run (noise), the same at each logged step
(live), and the signal through depth (depth). On the defaults (the Train page's default run, the page's default
settings) every claim the page checks holds; a bad input gets one clear message, never a traceback."""

import json
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core.model import records
from core.model.config import TrainConfig
from core.train.run import Run

pytestmark = pytest.mark.usefixtures("app_test_pages")
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _record(config: TrainConfig, number: int) -> records.RunRecord:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = Run(config)
        run.train()
    finally:
        torch.set_num_threads(previous)
    return records.from_run(run, records.short_name(config, number))


@pytest.fixture(scope="module")
def default_run() -> dict:
    """The Train page's default run: the sidebar's defaults (two moons, tanh [32, 32], momentum, 3,000 steps)."""
    record = _record(TrainConfig(device="cpu"), 1)
    return {record.name: record}


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


def _page(view: str, runs: dict | None = None, state: dict | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    if runs is not None:
        at.session_state["run_records"] = runs
    for key, value in (state or {}).items():
        at.session_state[key] = value
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.session_state["gr_view"] = view
    at.switch_page("pages/gradients.py")
    return at.run()


def _claims(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown if "claims, checked on" in m.value)


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def _titles(at: AppTest) -> str:
    return " ".join(json.dumps(spec, ensure_ascii=False) for spec in _specs(at))


def _holds(at: AppTest, count: int) -> None:
    text = _claims(at)
    assert text.count("**holds**") == count and "**fails**" not in text, text
    assert not at.warning  # the "claims fail on this run" warning


def test_the_page_is_in_the_menu_and_on_home():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not _errors(at)
    assert "gradients" in " ".join(str(el.proto) for el in at.sidebar.get("page_link"))
    assert any("| Gradients |" in m.value for m in at.markdown)


def test_without_runs_the_run_views_say_so_and_depth_still_draws():
    at = _page("noise", runs={})
    assert not _errors(at)
    assert any("No runs yet" in i.value for i in at.info)
    assert at.title[0].value == "Gradients" and "Inexact gradients" in at.caption[0].value
    assert {"dataset", "batch_size"} <= {w.key for w in at.sidebar.selectbox} | {w.key for w in at.sidebar.number_input}


def test_noise_view_on_the_default_run_draws_both_charts_and_its_claims_hold(default_run):
    at = _page("noise", default_run)
    assert not _errors(at)
    titles = _titles(at)
    assert len(at.get("vega_lite_chart")) == 2
    assert "Relative error of a minibatch gradient" in titles and "Cosine between g_B and g" in titles
    assert "1/√m reference" in titles and "sampling theory" in titles
    metrics = {m.label: m.value for m in at.metric}
    rms = float(metrics["Slope of the rms error"].replace("−", "-"))
    assert -0.6 <= rms <= -0.4
    assert float(metrics["Error at m = N"]) < 1e-5
    assert at.selectbox(key="gr_point").value == 3000  # θ_final by default
    _holds(at, 5)
    text = _claims(at)
    for words in ("1/√m", "sampling theory", "all N = 800 examples", "at m = 1 ", "at m = 256 "):
        assert words in text, words
    caption = " ".join(c.value for c in at.caption)
    assert "the mean falls more slowly" in caption and "misclassified" in caption  # measured: a trained network


def test_noise_view_at_theta_init_and_on_the_address_bar(default_run):
    at = _page("noise", default_run, state={"gr_point": 0}, query={"gr_samples": "32", "gr_sizes": "2,8,32,full"})
    assert not _errors(at)
    assert at.text_input(key="gr_sizes").value == "2,8,32,full" and at.number_input(key="gr_samples").value == 32
    assert "θ_init (step 0)" in _claims(at)
    assert "at m = 2 " in _claims(at) and "at m = 32 " in _claims(at)


@pytest.mark.parametrize(("sizes", "samples", "message"), [
    ("1,abc,full", 64, "'abc' is not one"),
    ("0,4", 64, "'0' is not one"),
    (" , ", 64, "name at least one"),
    ("5000,9000", 64, "none is at most"),
    ("256,512,700,full", 4096, "Use fewer samples"),
])
def test_noise_view_bad_input_gets_one_clear_message(default_run, sizes, samples, message):
    at = _page("noise", default_run, state={"gr_sizes": sizes, "gr_samples": samples})
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value, [e.value for e in at.error]
    assert not at.get("vega_lite_chart")


def test_sizes_above_the_split_are_left_out_and_said(default_run):
    at = _page("noise", default_run, state={"gr_sizes": "1,4,16,64,256,2000,full"})
    assert not _errors(at)
    assert any("Left out: 2,000" in c.value for c in at.caption)
    _holds(at, 5)


def test_live_view_draws_the_runs_columns_and_its_claims_hold(default_run):
    at = _page("live", default_run)
    assert not _errors(at)
    titles = _titles(at)
    assert "Cosine of the step's g_B with g" in titles and "Relative error of the step's g_B" in titles
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Batch size m"] == "32" and float(metrics["Median ‖g_B − g‖/‖g‖"]) > 1
    _holds(at, 2)


def test_live_view_of_a_full_batch_run_explains_why_it_is_empty():
    record = _record(TrainConfig(device="cpu", batch_size=0, steps=60, n_samples=200), 1)
    at = _page("live", {record.name: record})
    assert not _errors(at)
    assert any("full-batch" in i.value for i in at.info) and not at.get("vega_lite_chart")


def test_depth_view_on_its_defaults_draws_both_charts_and_its_claims_hold():
    at = _page("depth", runs={})
    assert not _errors(at)
    titles = _titles(at)
    assert "Activation std per layer" in titles and "Weight-gradient norm per layer" in titles
    assert at.slider(key="gr_depth").value == 10 and at.selectbox(key="gr_act").value == "tanh"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Flattest scale"] == "s = 2"  # measured: the claims below check it, the test pins the defaults
    _holds(at, 5)
    text = _claims(at)
    assert "s = 0.5" in text and "s = 8" in text and "s = 2" in text


def test_depth_view_answers_other_settings_without_errors():
    at = _page("depth", runs={}, query={"gr_act": "relu", "gr_depth": "4", "gr_width": "16", "gr_data": "moons"})
    assert not _errors(at)
    assert at.selectbox(key="gr_act").value == "relu" and at.slider(key="gr_depth").value == 4
    assert len(at.get("vega_lite_chart")) == 2 and _claims(at)
    at.session_state["gr_scales"] = []  # no ticked scale: the custom one alone
    at.run()
    assert not _errors(at) and len(at.get("vega_lite_chart")) == 2


def test_presenter_mode_draws_every_view(default_run):
    for view in ("noise", "live", "depth"):
        at = _page(view, default_run, state={"present": True})
        assert not _errors(at), view
        config = _specs(at)[0]["config"]
        assert config["legend"]["orient"] == "bottom" and config["title"]["fontSize"] == 22, view


def test_live_view_follows_the_train_pages_run_while_it_trains():
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("pages/train.py").run()
    at.number_input(key="steps").set_value(1_000_000).run()
    at.button(key="train_start").click().run()
    live = at.session_state["live_run"]
    try:
        deadline = time.monotonic() + 60
        while live.touch().step < 200 and time.monotonic() < deadline:  # a few logged rows (every 50 steps)
            time.sleep(0.2)
        at.session_state["gr_view"] = "live"
        at.switch_page("pages/gradients.py").run()
        assert not _errors(at)
        assert at.selectbox(key="gr_live_run").value == "#1 tanh [32, 32] seed 0"
        assert "(running)" in " ".join(c.value for c in at.caption)
        assert len(at.get("vega_lite_chart")) == 2
        assert "(so far: the run is not done)" in _claims(at)
    finally:
        live.close()


def test_slow_work_runs_behind_a_progress_bar(default_run, monkeypatch):
    """Above QUIET_SECONDS of estimated work the table is computed in a thread behind a progress bar (here always)."""
    from ui import progress

    monkeypatch.setattr(progress, "QUIET_SECONDS", 0.0)
    at = _page("noise", default_run, state={"gr_seed": 1})
    assert not _errors(at) and len(at.get("vega_lite_chart")) == 2
    _holds(at, 5)
