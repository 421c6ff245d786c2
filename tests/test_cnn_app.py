"""A digits CNN through the probes a normal run meets on the app's pages: interpolation, straying, the loss plane
(with the replay and Fig. 7 view the Network landscape page uses), and curvature (λ_max by Lanczos, the spectrum)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.model import networks, records
from core.model.config import TrainConfig
from core.probes import curvature, endpoints, fig7, plane, spectrum
from core.probes.interpolation import PAST_ENDS, alpha_grid, curve_metrics
from core.probes.straying import straying, straying_summary
from core.train import replay
from core.train.run import Run

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CNN = {"dataset": "digits", "model": "cnn", "channels": [4, 8], "optimizer": "momentum", "lr": 0.05,
       "momentum": 0.9, "batch_size": 64, "steps": 60, "curvature_monitor": True, "log_every": 10, "device": "cpu"}


@pytest.fixture(scope="module")
def run() -> Run:
    trained = Run(TrainConfig(**CNN))
    trained.train()
    assert trained.status == "done" and trained.spec.kind == "cnn"
    return trained


@pytest.fixture(scope="module")
def record(run) -> records.RunRecord:
    return records.from_run(run, "#1 cnn")


def test_the_interpolation_curve_ends_at_evaluate_of_theta_init_and_theta_final(run, record):
    frame = endpoints.curves([endpoints.init_to_final(record)], alpha_grid(0.0, 1.0, 11))
    spec, data = run.spec, run.data
    for alpha, theta in ((0.0, record.theta_init), (1.0, record.theta_final)):
        row = frame[frame["alpha"] == alpha].iloc[0]
        for split, (x, y) in {"train": (data.x_train, data.y_train), "val": (data.x_val, data.y_val)}.items():
            loss, error = networks.evaluate(spec, theta, x, y)
            assert row[f"{split}_loss"] == pytest.approx(loss, abs=1e-6), (alpha, split)
            assert row[f"{split}_error"] == pytest.approx(error, abs=1e-6), (alpha, split)
    assert frame["train_loss"].iloc[-1] < frame["train_loss"].iloc[0]
    m = curve_metrics(frame["alpha"], frame["train_loss"])
    assert m["monotone"] is not None and math.isfinite(m["barrier"])
    ends = endpoints.end_table(endpoints.curves([endpoints.init_to_final(record)], PAST_ENDS))
    assert set(ends["split"]) == {"train", "validation"}


def test_straying_of_the_cnn_run(run, record):
    frame = straying(record.steps, record.checkpoints, record.theta_init, record.theta_final)
    length = float(torch.linalg.vector_norm(record.theta_final.double() - record.theta_init.double()))
    assert frame["projection"].iloc[0] == 0 and frame["residual"].iloc[0] == 0
    assert frame["projection"].iloc[-1] == pytest.approx(length, rel=1e-9) and frame["residual"].iloc[-1] < 1e-6
    summary = straying_summary(run.straying_frame())
    assert math.isfinite(summary["max_rho"]) and summary["max_residual"] >= 0


@pytest.mark.parametrize("direction", ["pca", "random"])
def test_the_loss_plane_of_the_cnn_run(run, record, direction):
    steps, thetas = run.trajectory.view()
    got = plane.landscape(run.spec, run.data, steps, thetas.detach().cpu(), direction, points=5)
    assert len(got.grid) == 25 and np.isfinite(got.grid[["train_loss", "val_loss"]].to_numpy()).all()
    first, last = got.trajectory.iloc[0], got.trajectory.iloc[-1]
    assert (first["a"], first["b"]) == pytest.approx((0.0, 0.0), abs=1e-6)
    assert last["a"] == pytest.approx(got.plane.length, rel=1e-5)
    losses = plane.losses_at(run.spec, thetas[[0, -1]], run.data.x_train, run.data.y_train)
    for loss, theta in zip(losses, (record.theta_init, record.theta_final)):
        assert loss == pytest.approx(networks.evaluate(run.spec, theta, run.data.x_train, run.data.y_train)[0],
                                     abs=1e-5)
    view = fig7.fig7_frame(run.spec, steps, thetas, np.zeros(len(steps)))
    assert view.attrs["x"].startswith("θ[") and len(view) == len(steps)


def test_the_replay_of_a_cnn_run_matches_its_checkpoints(run, record):
    targets = replay.replay_targets(run.metrics_frame()["step"], record.steps, record.step, run.spec.n_params)
    steps, thetas = replay.replay(record.config, targets)
    replay.check_replay(steps, thetas, record.steps, record.checkpoints)  # raises when it does not


def test_lambda_max_by_lanczos_matches_the_exact_spectrum(run, record):
    lambdas = run.metrics_frame()["lambda_max"].dropna()
    assert len(lambdas) and np.isfinite(lambdas).all()  # the curvature monitor's warm-started Lanczos, while training
    top, _, _ = curvature.top_eigenvalue(spectrum.split_loss(run.spec, run.data), record.theta_final)
    assert math.isfinite(top) and top > 0  # the Spectrum page's λ_max on the whole training split
    x, y = run.data.x_train[:100], run.data.y_train[:100]  # the exact Hessian's cost grows with the samples

    def loss(theta):
        return networks.loss_fn(run.spec, theta, x, y)

    theta = record.theta_final
    top, _, _ = curvature.top_eigenvalue(loss, theta, tol=1e-6)
    exact = spectrum.at_point(loss, theta)  # 666 parameters: the whole spectrum
    assert exact.method == "exact" and top == pytest.approx(exact.lambda_max, rel=1e-3)
    extremes = spectrum.extremes(loss, theta, 3)
    assert extremes.lambda_max == pytest.approx(exact.lambda_max, rel=1e-3)


def test_preset_views_hold_sidebar_values_and_the_fig_6_card_trains_a_cnn():
    """A view's training fields go into the sidebar's widgets: text for the widths and channels, never a list."""
    from core import presets

    for preset in presets.PRESETS.values():
        for key, value in preset.view.items():
            assert isinstance(value, (str, int, float, bool)) or key.startswith("ip_"), (preset.name, key)
    (config,) = presets.get("fig6-cnn").configs()
    assert config.model == "cnn" and config.channels == (8, 16) and config.dataset == "digits"
