"""AppTest for the Interpolation page: training runs from the page, endpoint modes, presets, the archive of runs."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import presets

pytestmark = pytest.mark.usefixtures("app_test_pages")
APP = str(Path(__file__).resolve().parents[1] / "app.py")
SMALL = {"n_samples": 200, "steps": 60, "hidden": "8"}


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


def _page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page("pages/interpolation.py")
    return at.run()


def _small_sidebar(at: AppTest) -> None:
    at.number_input(key="steps").set_value(SMALL["steps"]).run()
    at.slider(key="n_samples").set_value(SMALL["n_samples"]).run()
    at.text_input(key="hidden").input(SMALL["hidden"]).run()




def test_without_runs_the_page_says_how_to_get_one():
    at = _page()
    assert not _errors(at)
    assert any("No runs yet" in i.value for i in at.info)


def test_train_two_seeds_then_every_endpoint_mode_draws(drain_queue):
    at = _page()
    _small_sidebar(at)
    at.text_input(key="more_seeds").input("0,1")
    at.button[0].click()  # the form's submit button is the first button on a page with no runs drawn yet
    at.run()
    drain_queue(at)
    assert not _errors(at)
    records = at.session_state["run_records"]
    assert len(records) == 2 and [r.config.seed for r in records.values()] == [0, 1]
    charts = at.get("vega_lite_chart")
    assert charts and "along the line" in str(charts[0].proto.spec)
    table = at.dataframe[-1].value  # init → final: the barrier above the chord, and whether θ_final is a minimum
    assert {"barrier", "falls_before_0", "falls_after_1"} <= set(table.columns)
    assert (table["barrier"] >= 0).all() and (table["falls_after_1"] >= 0).all()

    at.radio(key="ip_mode").set_value("final-final").run()
    assert not _errors(at)
    table = at.dataframe[-1].value
    assert "barrier" in table.columns and "final →" in table["curve"].iloc[0]

    at.radio(key="ip_mode").set_value("random-final").run()
    assert not _errors(at) and "random point" in at.dataframe[-1].value["curve"].iloc[0]

    at.radio(key="ip_mode").set_value("checkpoints").run()
    assert not _errors(at) and "step 0 → step 60" in at.dataframe[-1].value["curve"].iloc[0]

    at.button(key="ip_zoom_0.99–1").click().run()  # Fig. 4's window, one click
    assert at.number_input(key="ip_min").value == 0.99 and at.number_input(key="ip_max").value == 1.0
    assert not _errors(at)

    at.number_input(key="ip_min").set_value(2.0).run()  # above "α to": a message, not a traceback
    assert any("must be below" in e for e in _errors(at)) and not at.exception


def test_preset_link_trains_its_runs_and_overlays_them(monkeypatch, drain_queue):
    small = {**presets.RELU, "steps": 40, "hidden": [8]}
    preset = presets.Preset("test-overlay", "Fig. 3", "test", "Two curves on one log axis.", "interpolation",
                            (small, {**small, "activation": "sigmoid", "lr": 0.5}),
                            {"ip_mode": "init-final", "ip_points": 21, "ip_log": True, "ip_windows": ["0–0.01"]})
    monkeypatch.setitem(presets.PRESETS, preset.name, preset)
    at = _page({"preset": preset.name})
    drain_queue(at)
    assert not _errors(at)
    assert at.session_state["ip_runs"] == list(at.session_state["run_records"])  # both runs, overlaid
    assert at.toggle(key="ip_log").value is True and at.number_input(key="ip_points").value == 21
    assert any("Two curves on one log axis" in s.value for s in at.success)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2 and '"type": "log"' in charts[0].proto.spec  # the main chart and one zoom window
    assert len(at.dataframe[-1].value) == 4  # 2 curves x 2 splits
    # the sidebar shows the figure's settings (its first run's), not the visitor's older ones: Train more trains them
    assert at.text_input(key="hidden").value == "8" and at.selectbox(key="dataset").value == "digits"
    assert at.selectbox(key="activation").value == "relu" and at.session_state["config"].steps == 40


def test_the_train_pages_run_is_listed_and_kept_when_replaced():
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/train.py").run()
    at.number_input(key="steps").set_value(30).run()
    at.button(key="train_step").click().run()
    at.switch_page("pages/interpolation.py").run()
    assert not _errors(at)
    assert "#1 tanh [32, 32] seed 0" in at.multiselect(key="ip_runs").options
    at.switch_page("pages/train.py").run()
    at.button(key="train_reset").click().run()  # a new run replaces it; the old one is kept
    at.switch_page("pages/interpolation.py").run()
    assert "#1 tanh [32, 32] seed 0" in at.session_state["run_records"]
