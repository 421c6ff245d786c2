"""The eq. 8.10 monitor inside a run: gᵀg, gᵀHg, the ratio and λ_max, against explicit Hessians."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from core.cli import main as cli
from core.model import networks
from core.model.config import TrainConfig, from_dict
from core.train.run import CURVATURE_COLUMNS, METRIC_COLUMNS, Run

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def cfg(**changes) -> TrainConfig:
    base = {"dataset": "moons", "n_samples": 200, "hidden": (6,), "activation": "tanh", "optimizer": "sgd",
            "lr": 0.5, "batch_size": 0, "steps": 6, "log_every": 1, "device": "cpu", "seed": 1,
            "curvature_monitor": True}
    return TrainConfig(**{**base, **changes})


def _explicit(run: Run, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> dict:
    """gᵀg, gᵀHg, the ratio and λ_max from torch.func.grad / hessian / eigvalsh, in float64."""
    def loss(th):
        return networks.loss_fn(run.spec, th, x.double(), y)

    th = theta.double()
    g, h = torch.func.grad(loss)(th), torch.func.hessian(loss)(th)
    gTg, gHg = float(g @ g), float(g @ h @ g)
    return {"gTg": gTg, "gHg": gHg, "curvature_ratio": 0.5 * run.config.lr * gHg / gTg,
            "lambda_max": float(torch.linalg.eigvalsh(h)[-1])}


def test_full_batch_terms_and_lambda_max_equal_the_explicit_hessian():
    run = Run(cfg())
    expected = []
    for _ in range(run.config.steps):
        expected.append(_explicit(run, run.theta.clone(), run.data.x_train, run.data.y_train))
        run.train(max_steps=1)
    rows = run.metrics_frame().set_index("step")
    assert list(run.metrics_frame().columns) == METRIC_COLUMNS + CURVATURE_COLUMNS
    assert rows.loc[0, CURVATURE_COLUMNS].isna().all()  # step 0 has no update
    for step, want in enumerate(expected, start=1):
        for column, value in want.items():
            assert rows.loc[step, column] == pytest.approx(value, rel=2e-3 if column == "lambda_max" else 1e-4), column
    points = run.points_frame().set_index("step")
    for step, want in enumerate(expected, start=1):
        assert points.loc[step, "gHg"] == pytest.approx(want["gHg"], rel=1e-4)


def test_minibatch_terms_use_the_rows_own_update():
    """g is the gradient of that row's minibatch and H the Hessian of the same minibatch loss at the same θ."""
    config = cfg(batch_size=16, steps=12, log_every=4)
    run, twin = Run(config), Run(config.replace(curvature_monitor=False))
    expected = {}
    for step in range(1, config.steps + 1):
        xb, yb = twin._batch()  # the same generator: the same minibatches in the same order
        expected[step] = _explicit(run, run.theta.clone(), xb, yb)
        run.train(max_steps=1)
    rows = run.metrics_frame().set_index("step")
    assert list(rows.index) == [0, 4, 8, 12]
    for step in (4, 8, 12):
        for column, value in expected[step].items():
            assert rows.loc[step, column] == pytest.approx(value, rel=2e-3 if column == "lambda_max" else 1e-4)
        assert rows.loc[step, "gTg"] == pytest.approx(rows.loc[step, "grad_norm"] ** 2, rel=1e-5)


def test_the_monitor_does_not_change_training():
    on = Run(cfg(batch_size=16, steps=30, optimizer="momentum", lr=0.1))
    off = Run(on.config.replace(curvature_monitor=False))
    on.train(), off.train()
    torch.testing.assert_close(on.theta, off.theta, rtol=1e-5, atol=1e-6)
    assert list(off.metrics_frame().columns) == METRIC_COLUMNS
    assert off.points_frame()["gHg"].isna().all() and on.points_frame()["gHg"].notna().all()


def test_switching_the_monitor_on_mid_run_adds_the_columns():
    run = Run(cfg(curvature_monitor=False, steps=8, log_every=2))
    run.train(max_steps=4)
    run.set_hot(curvature_monitor=True)
    run.train()
    frame = run.metrics_frame().set_index("step")
    assert frame.loc[[0, 2, 4], "gHg"].isna().all() and frame.loc[[6, 8], "gHg"].notna().all()
    assert frame.loc[[6, 8], "lambda_max"].notna().all()


def test_lambda_max_bounds_the_rayleigh_quotient():
    """gᵀHg/gᵀg ≤ λ_max, so the ratio is at most ½ε·λ_max: above 1 only when ε exceeds 2/λ_max somewhere."""
    run = Run(cfg(steps=10, log_every=1, lr=2.0))
    run.train()
    rows = run.metrics_frame().dropna(subset=["gHg"])
    assert (rows.gHg / rows.gTg <= rows.lambda_max * (1 + 2e-3)).all()


@pytest.mark.parametrize("raw, value", [("true", True), ("false", False), (True, True)])
def test_config_reads_the_switch_from_json_and_the_url(raw, value):
    assert from_dict({"curvature_monitor": raw}).curvature_monitor is value


def test_config_refuses_a_non_boolean_switch():
    with pytest.raises(ValueError, match="curvature_monitor must be true or false"):
        from_dict({"curvature_monitor": 1})


def test_cli_writes_the_curvature_columns_only_when_asked(tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({**cfg(steps=10, log_every=5).to_dict(), "hidden": [6]}), encoding="utf-8")
    assert cli.main(["train", "--config", str(config), "--out", str(tmp_path / "on")]) == 0
    assert cli.main(["train", "--config", str(config), "--set", "curvature_monitor=false",
                     "--out", str(tmp_path / "off")]) == 0
    capsys.readouterr()
    on, off = pd.read_csv(tmp_path / "on" / "metrics.csv"), pd.read_csv(tmp_path / "off" / "metrics.csv")
    assert list(on.columns) == METRIC_COLUMNS + CURVATURE_COLUMNS and list(off.columns) == METRIC_COLUMNS
    last = on.iloc[-1]
    assert last.curvature_ratio == pytest.approx(0.5 * last.lr * last.gHg / last.gTg, rel=1e-12)
    pd.testing.assert_frame_equal(on[METRIC_COLUMNS], off, rtol=1e-5)
