"""AppTest for the Minima page: a run's permuted copy and two runs before and after weight matching."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.model import records
from core.model.config import TrainConfig
from core.train.run import Run

pytestmark = pytest.mark.usefixtures("app_test_pages")
APP = str(Path(__file__).resolve().parents[1] / "app.py")
RELU = TrainConfig(dataset="moons", n_samples=300, hidden=(16, 16), activation="relu", steps=300, device="cpu")


@pytest.fixture(scope="module")
def two():
    out = {}
    for seed in (0, 1):
        run = Run(RELU.replace(seed=seed))
        run.train()
        out[f"#{seed + 1} relu [16, 16] seed {seed}"] = records.from_run(run, f"#{seed + 1} relu [16, 16] seed {seed}")
    return out


def _page(runs: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.session_state["run_records"] = runs
    at.switch_page("pages/minima.py")
    return at.run()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_without_runs_the_page_explains():
    at = _page({})
    assert not at.exception and any("No runs yet" in i.value for i in at.info)


def test_a_permuted_copy_and_an_alignment_are_drawn_with_their_numbers(two):
    at = _page(two)
    assert not at.exception and not at.error
    m = _metrics(at)
    assert float(m["Outputs differ by"]) < 1e-4 and float(m["Distance ‖θ − θ_perm‖"]) > 1
    assert float(m["Barrier after"]) <= float(m["Barrier before"])
    assert abs(float(m["B's loss changed by"])) < 1e-5
    titles = " ".join(str(c.proto.spec) for c in at.get("vega_lite_chart"))
    assert "permuted copy" in titles and "before and after matching" in titles
