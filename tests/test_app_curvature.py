"""AppTest for the Curvature page: spectrum, index along training, optimizers from one start, the saddle demos."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.model import records
from core.model.config import TrainConfig
from core.train.run import Run
from ui import curvature_view

pytestmark = pytest.mark.usefixtures("app_test_pages")
APP = str(Path(__file__).resolve().parents[1] / "app.py")
SMALL = TrainConfig(dataset="moons", n_samples=200, hidden=(6,), activation="tanh", steps=60, batch_size=32,
                    device="cpu")


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


def _page(view: str, record: records.RunRecord | None = None, sidebar: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    if record is not None:
        at.session_state["run_records"] = {record.name: record}
    at.switch_page("pages/curvature.py")
    at.run()
    at.segmented_control(key="cv_view").set_value(view).run()
    for key, value in (sidebar or {}).items():  # the training settings are in the sidebar of the views that use them
        widget = at.sidebar.text_input(key=key) if key == "hidden" else at.sidebar.number_input(key=key)
        widget.set_value(value)
    return at.run()


@pytest.fixture(scope="module")
def record():
    run = Run(SMALL)
    run.train()
    return records.from_run(run, "#1 tanh [6] seed 0")


def test_without_runs_the_page_explains():
    at = _page("Spectrum")
    assert not _errors(at)
    assert any("No runs yet" in i.value for i in at.info)


def test_spectrum_of_a_run_exact_then_lanczos(record):
    at = _page("Spectrum", record)
    assert not _errors(at)
    labels = {m.label: m.value for m in at.metric}
    assert {"λ_max", "λ_min", "Index", "Condition number κ"} <= set(labels)
    assert labels["Index"].endswith("%") and float(labels["λ_max"]) > 0
    assert "All 32 eigenvalues" in str(at.get("vega_lite_chart")[0].proto.spec)
    at.segmented_control(key="cv_method").set_value("lanczos").run()
    assert not _errors(at)
    assert "extreme eigenvalues found by Lanczos" in str(at.get("vega_lite_chart")[0].proto.spec)
    at.select_slider(key="cv_step").set_value(record.steps[0]).run()
    assert not _errors(at)


def test_index_along_training(record):
    at = _page("Index", record)
    assert not _errors(at)
    assert "Index against loss along training" in str(at.get("vega_lite_chart")[0].proto.spec)


def test_optimizers_from_one_start_on_the_sidebar_network():
    at = _page("Optimizers", sidebar={"hidden": "6", "steps": 12, "batch_size": 0})
    assert not _errors(at)
    at.button(key="cv_compare_go").click().run()
    assert not _errors(at)
    titles = " ".join(str(c.proto.spec) for c in at.get("vega_lite_chart"))
    assert "Training loss" in titles and "Gradient norm at" in titles and "Index of the Hessian" in titles


def test_second_order_methods_start_unticked_on_a_big_network_and_the_time_is_estimated():
    at = _page("Optimizers", sidebar={"hidden": "64,64", "steps": 40})
    assert not _errors(at)
    assert any("start unticked" in c.value for c in at.caption)
    assert any(c.value.startswith("Estimated time: about") for c in at.caption)
    assert at.number_input(key="cv_compare_steps").value == 40


def test_saddle_demonstrations(monkeypatch):
    monkeypatch.setattr(curvature_view, "SADDLE_NET", curvature_view.SADDLE_NET.replace(steps=10))
    at = _page("Saddles")
    assert not _errors(at)
    assert any("Newton after one step: (x, y) = (0, 0), f = 0" in c.value for c in at.caption)
    at.button(key="cv_saddle_go").click().run()
    assert not _errors(at)
    titles = " ".join(str(c.proto.spec) for c in at.get("vega_lite_chart"))
    assert "Index of the Hessian" in titles


def test_cliff_with_and_without_clipping():
    at = _page("Cliffs")
    assert not _errors(at)
    table = at.dataframe[0].value
    assert table.loc["clipped at ‖g‖ = 1", "f"] < 1 < table.loc["without clipping", "f"]
