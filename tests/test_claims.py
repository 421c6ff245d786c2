"""Lessons as checked claims: the measures against hand-made frames, and every preset's claims on its own runs."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from core import claims, presets
from core.cli.main import main
from core.model import records
from core.model.config import TrainConfig
from core.train.run import Run

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conv layers crawl on 2 threads of 2 busy cores


# ---- the measures, on frames whose answers are known -------------------------------------------------------------
def test_growth_compares_the_last_fifth_with_steps_five_to_twenty_percent():
    steps = np.arange(0, 1001)
    points = pd.DataFrame({"step": steps, "grad_norm": np.where(steps >= 800, 3.0, 1.0)})
    ev = presets.monitor_evidence(pd.DataFrame(), points, pd.DataFrame())
    assert claims.growth(ev, "points", "grad_norm") == pytest.approx(3.0)
    early = points.assign(grad_norm=np.where(steps < 50, 100.0, 1.0))  # before 5%: not counted
    assert claims.growth(presets.monitor_evidence(None, early, None), "points", "grad_norm") == pytest.approx(1.0)


def test_validation_error_drop_is_the_end_over_five_percent_in():
    metrics = pd.DataFrame({"step": [0, 50, 100, 500, 1000], "val_error": [0.9, 0.8, 0.6, 0.3, 0.2]})
    ev = presets.monitor_evidence(metrics, None, None)
    assert claims.val_error_drop(ev) == pytest.approx(0.2 / 0.8)  # step 50 is 5% of 1,000


def test_curvature_outgrows_is_the_ratio_of_the_two_growths():
    steps = np.arange(0, 101)
    curvature = pd.DataFrame({"step": steps, "gTg": np.where(steps >= 80, 2.0, 1.0),
                              "gHg": np.where(steps >= 80, 8.0, 1.0)})
    assert claims.curvature_outgrows(presets.monitor_evidence(None, None, curvature)) == pytest.approx(4.0)


def test_drop_share_is_the_part_of_the_fall_inside_a_window():
    alphas = np.linspace(0, 1, 11)
    curve = pd.DataFrame({"curve": "a", "alpha": alphas, "train_loss": 1 - alphas**2})  # falls 1 in all
    ev = claims.Evidence(curves=curve)
    assert claims.drop_share(ev, 0, 0.8, 1.0) == pytest.approx(1 - 0.64)  # J(0.8) - J(1) = 0.36
    assert claims.drop_share(ev, 0, 0.0, 1.0) == pytest.approx(1.0)


def test_check_applies_the_operator_and_a_missing_measure_fails():
    ev = presets.monitor_evidence(pd.DataFrame({"step": [0, 1], "val_error": [math.nan, 0.1]}), None, None)
    ok = claims.Claim("half", "val_error_drop", "<=", 0.5)
    (verdict,) = claims.check([ok], ev)
    assert not verdict.holds and math.isnan(verdict.value)  # NaN: not measurable, so it does not hold
    assert verdict.line.startswith("fails · half (measured nan; needs <= 0.5)")
    good = presets.monitor_evidence(pd.DataFrame({"step": [0, 20], "val_error": [0.8, 0.2]}), None, None)
    assert [v.holds for v in claims.check([ok, claims.Claim("x", "val_error_drop", ">", 0.5)], good)] == [True, False]


def test_every_claim_names_a_measure_and_an_operator():
    for preset in presets.PRESETS.values():
        assert preset.claims, f"{preset.name} states no checked claim"
        for claim in preset.claims:
            assert claim.measure in claims.MEASURES and claim.op in claims.OPS, (preset.name, claim)


# ---- every preset's claims on its own runs (one training per distinct config, shared) -------------------------------
_TRAINED: dict[str, records.RunRecord] = {}


def _record(run: dict, number: int) -> records.RunRecord:
    key = json.dumps(run, sort_keys=True)
    if key not in _TRAINED:
        config = TrainConfig(**run)
        trained = Run(config)
        trained.train()
        _TRAINED[key] = records.from_run(trained, records.short_name(config, number))
    return _TRAINED[key]


@pytest.mark.parametrize("name", [n for n, p in presets.PRESETS.items() if p.page != "train"])
def test_the_presets_claims_hold_on_their_runs(name):
    preset = presets.get(name)
    kept = [_record(run, i) for i, run in enumerate(preset.runs, start=1)]
    verdicts = claims.check(preset.claims, presets.evidence(preset, kept))
    assert all(v.holds for v in verdicts), "\n".join(v.line for v in verdicts)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fig_8_1_holds_for_three_seeds_through_the_command_line(seed, tmp_path):
    assert main(["preset", "dl-fig8-1-gradient-norm", "--seed", str(seed), "--out", str(tmp_path)]) == 0
    verdicts = json.loads((tmp_path / "claims.json").read_text(encoding="utf-8"))
    assert len(verdicts) == 3 and all(v["holds"] for v in verdicts), verdicts
    assert json.loads((tmp_path / "runs" / "run1" / "config.json").read_text())["seed"] == seed
