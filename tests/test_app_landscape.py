"""AppTest for the Network landscape page: guidance without runs; with a run the plane, readouts and Fig. 7 view."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.model.config import TrainConfig
from core.model.records import from_run, short_name
from core.train.run import Run

pytestmark = pytest.mark.usefixtures("app_test_pages")
PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "landscape.py")
CONFIG = TrainConfig(n_samples=200, hidden=(8,), steps=60, log_every=7, device="cpu", seed=1)


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


@pytest.fixture(scope="module")
def record():
    run = Run(CONFIG)
    run.train()
    return from_run(run, short_name(CONFIG, 1))


def _page(records: dict | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    if records is not None:
        at.session_state["run_records"] = records
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def test_without_runs_the_page_says_how_to_get_one():
    at = _page()
    assert not _errors(at)
    assert any("No runs yet" in i.value for i in at.info)
    assert not at.get("vega_lite_chart")


def test_a_run_draws_the_plane_the_readouts_and_the_fig7_view(record):
    at = _page({record.name: record})
    assert not _errors(at)
    assert at.selectbox(key="ls_run").value == record.name
    labels = {m.label: m.value for m in at.metric}
    assert {"Captured variance", "Mean distance from the plane", "Max distance from the plane"} <= set(labels)
    assert 0 < float(labels["Captured variance"].rstrip("%")) <= 100
    specs = [str(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(specs) == 2 and "over the plane" in specs[0] and "Fig. 7" in specs[1]
    captions = " ".join(c.value for c in at.caption)
    assert "every logged step" in captions and "matched its checkpoints" in captions
    trust = [m.value for m in (*at.success, *at.info, *at.warning)]
    assert any("from the plane" in t for t in trust)


def test_random_direction_validation_loss_and_a_coarse_grid_from_the_address_bar(record):
    at = _page({record.name: record}, {"ls_direction": "random", "ls_seed": "5", "ls_split": "validation",
                                       "ls_grid": "21", "ls_replay": "false"})
    assert not _errors(at)
    assert at.session_state["ls_direction"] == "random" and at.session_state["ls_grid"] == 21
    spec = str(at.get("vega_lite_chart")[0].proto.spec)
    assert "Validation loss over the plane" in spec
    assert "saved checkpoints" in " ".join(c.value for c in at.caption)
    grids = [v.grid for v in at.session_state["ls_cache"].values() if hasattr(v, "grid")]
    assert [len(g) for g in grids] == [21 * 21]


def test_a_run_whose_settings_changed_mid_run_falls_back_to_its_checkpoints(record):
    changed = dataclasses.replace(record, config=record.config.replace(lr=record.config.lr * 3))
    at = _page({changed.name: changed})
    assert not _errors(at)
    assert "did not reproduce" in " ".join(c.value for c in at.caption)
    assert len(at.get("vega_lite_chart")) == 2


def test_a_run_that_never_moved_gets_a_sentence_not_a_traceback(record):
    still = dataclasses.replace(record, steps=(0, 60), checkpoints=record.checkpoints[[0, 0]])
    at = _page({still.name: still}, {"ls_replay": "false"})
    assert [str(e.value) for e in at.exception] == []
    assert any("θ_f equals θ_i" in e.value for e in at.error)
