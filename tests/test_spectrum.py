"""Spectra at saved points, the index along training, optimizers from one start, and their two CLI commands."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from core.cli import main as cli
from core.model import networks
from core.model.build import model_and_data
from core.model.config import TrainConfig
from core.probes import curvature, spectrum
from core.train import compare
from core.train.run import Run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {"dataset": "moons", "n_samples": 200, "hidden": [6], "activation": "tanh", "optimizer": "momentum",
         "lr": 0.2, "batch_size": 32, "steps": 80, "device": "cpu", "seed": 2}


def _naive_hessian(spec, data, theta) -> np.ndarray:
    """The float64 Hessian of the training loss by torch.func.hessian, then numpy's eigvalsh."""
    x, y = data.x_train.double(), data.y_train
    h = torch.func.hessian(lambda th: networks.loss_fn(spec, th, x, y))(theta.double())
    return np.linalg.eigvalsh(h.numpy())


@pytest.fixture(scope="module")
def trained():
    run = Run(TrainConfig(**{**SMALL, "hidden": (6,)}))
    run.train()
    return run


def test_exact_spectrum_and_its_summaries_against_numpy(trained):
    s = spectrum.exact(spectrum.split_loss(trained.spec, trained.data, dtype=torch.float64), trained.theta.double())
    naive = _naive_hessian(trained.spec, trained.data, trained.theta)
    np.testing.assert_allclose(s.eigenvalues.numpy(), naive, atol=1e-10)
    scale = np.abs(naive).max()
    zero = np.abs(naive) <= curvature.ZERO_TOL * scale
    assert s.index == pytest.approx(np.mean(naive < -curvature.NEGATIVE_TOL * scale))
    assert s.zeros == zero.sum()
    mags = np.sort(np.abs(naive))[::-1]  # the condition number by hand: max|λ| over the |λ| at the effective rank
    rank = mags.sum() ** 2 / (mags**2).sum()
    assert s.effective_rank == pytest.approx(rank, rel=1e-9)
    assert s.condition == pytest.approx(mags[0] / mags[int(np.ceil(rank)) - 1], rel=1e-9)
    assert s.lambda_max == pytest.approx(naive[-1]) and s.lambda_min == pytest.approx(naive[0])


def test_condition_number_is_set_by_the_hessian_not_by_a_cut_off():
    """Closed forms, and a 10x move of the near-zero bulk (any cut-off would move by as much) barely moves it."""
    flat = torch.zeros(500, dtype=torch.float64)
    equal = spectrum.Spectrum(torch.cat([flat, torch.full((10,), 2.0, dtype=torch.float64)]), "exact", 510)
    assert equal.effective_rank == pytest.approx(10) and equal.condition == pytest.approx(1.0)
    outlier = torch.cat([flat, torch.ones(1000, dtype=torch.float64), torch.tensor([100.0], dtype=torch.float64)])
    assert spectrum.Spectrum(outlier, "exact", 1501).condition == pytest.approx(100.0)
    run = Run(TrainConfig(device="cpu", steps=600))  # the Train page's network (1,218 parameters)
    run.train()
    s = spectrum.exact(spectrum.split_loss(run.spec, run.data), run.theta)
    bulk = s.eigenvalues.abs() <= curvature.ZERO_TOL * s.scale
    assert bulk.sum() > s.n_params / 2  # most eigenvalues sit in the near-zero bulk
    for factor in (0.1, 10.0):
        moved = spectrum.Spectrum(torch.where(bulk, s.eigenvalues * factor, s.eigenvalues), "exact", s.n_params)
        assert 0.5 < moved.condition / s.condition < 2
    old = [s.scale / float(s.eigenvalues.abs()[s.eigenvalues.abs() > t * s.scale].min()) for t in (1e-4, 1e-5)]
    assert old[1] / old[0] > 5  # the retired definition (max|λ| over the smallest non-zero |λ|) follows the cut-off


@pytest.mark.parametrize("config", [TrainConfig(device="cpu"),
                                    TrainConfig(dataset="digits", hidden=(16,), activation="relu", device="cpu")],
                         ids=["train-page-default", "digits-16"])
def test_slq_index_is_within_three_points_of_the_exact_index(config):
    run = Run(config.replace(steps=1500))
    run.train()
    loss = spectrum.split_loss(run.spec, run.data)
    for theta in (run.theta_init, run.theta):  # at the start, where most eigenvalues crowd 0, and at the end
        estimate = spectrum.slq_index(loss, theta)
        assert estimate.index == pytest.approx(spectrum.exact(loss, theta).index, abs=0.03)
        assert 0 <= estimate.error < 0.03


def test_lanczos_extremes_equal_the_exact_ends(trained):
    loss = spectrum.split_loss(trained.spec, trained.data, dtype=torch.float64)
    naive = _naive_hessian(trained.spec, trained.data, trained.theta)
    s = spectrum.extremes(loss, trained.theta.double(), top=3)
    assert s.method == "lanczos" and len(s.eigenvalues) == 6 and np.isnan(s.index) and np.isnan(s.condition)
    np.testing.assert_allclose(s.eigenvalues[-1:].numpy(), naive[-1:], rtol=1e-6)
    np.testing.assert_allclose(s.eigenvalues[:1].numpy(), naive[:1], rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError, match="--top"):
        spectrum.extremes(loss, trained.theta, top=0)


def test_stochastic_lanczos_quadrature_estimates_the_index(trained):
    loss = spectrum.split_loss(trained.spec, trained.data, dtype=torch.float64)
    theta = trained.theta.double()
    exact = spectrum.exact(loss, theta)
    index, _, top, _ = spectrum.slq_index(loss, theta, iterations=theta.numel(), probes=8)
    assert index == pytest.approx(exact.index, abs=0.08)
    assert top == pytest.approx(exact.lambda_max, rel=1e-6)


def test_index_along_training_at_every_checkpoint(trained):
    steps, thetas = trained.trajectory.view()
    frame = spectrum.along_training(trained.spec, trained.data, steps[:4], thetas[:4], method="exact")
    assert list(frame.step) == steps[:4] and set(frame.method) == {"exact"}
    loss = spectrum.split_loss(trained.spec, trained.data)
    for row, theta in zip(frame.itertuples(), thetas[:4], strict=True):
        assert row.train_loss == pytest.approx(float(loss(theta)), rel=1e-6)
        assert row.index == pytest.approx(spectrum.exact(loss, theta).index)


def test_optimizers_share_the_start_and_follow_their_own_run():
    config = TrainConfig(**{**SMALL, "hidden": (6,), "batch_size": 0, "steps": 12})
    frame, messages = compare.compare(config, ["sgd", "adam", "saddle-free"],
                                      {"adam": {"lr": 0.05}, "saddle-free": {"lr": 1.0, "damping": 0.5}})
    assert not messages and list(frame.columns) == compare.COLUMNS
    first = frame[frame.step == 0]
    assert len(first) == 3 and first.train_loss.nunique() == 1 and first["index"].nunique() == 1
    alone = Run(config.replace(optimizer="adam", lr=0.05))
    alone.train()
    last = frame[frame.optimizer == "adam"].iloc[-1]
    assert last.step == 12
    assert last.train_loss == pytest.approx(float(networks.loss_fn(alone.spec, alone.theta, alone.data.x_train,
                                                                 alone.data.y_train)), rel=1e-6)


def test_a_newton_run_that_fails_stops_with_its_reason():
    config = TrainConfig(**{**SMALL, "hidden": (6,), "batch_size": 0, "steps": 10, "init_scale": 1e-6})
    frame, messages = compare.compare(config, ["sgd", "newton"], {"newton": {"lr": 1.0, "damping": 0.0}})
    assert "newton" in messages and "singular" in messages["newton"]
    assert frame[frame.optimizer == "sgd"].step.max() == 10


@pytest.mark.parametrize("items, match", [(["newton.lr"], "OPTIMIZER.FIELD"), (["newton.beta=1"], "OPTIMIZER.FIELD"),
                                          (["newton.lr=fast"], "not a number")])
def test_bad_settings_are_refused(items, match):
    with pytest.raises(ValueError, match=match):
        compare.parse_settings(items)


# ---- the command line ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert cli.main(["train", *sum((["--set", f"{k}={json.dumps(v)}"] for k, v in SMALL.items()), []),
                     "--out", str(out)]) == 0
    return out


def test_cli_spectrum_is_the_exact_spectrum_of_the_checkpoint(run_dir, tmp_path, capsys):
    from safetensors.torch import load_file

    params = load_file(str(run_dir / "params.safetensors"))
    steps = params["checkpoint_steps"].tolist()
    step = steps[len(steps) // 2]
    assert cli.main(["spectrum", "--run", str(run_dir), "--step", str(step), "--out", str(tmp_path)]) == 0
    assert f"at step {step}" in capsys.readouterr().out
    frame = pd.read_csv(tmp_path / "eigenvalues.csv")
    assert list(frame.columns) == ["index", "eigenvalue", "method"] and set(frame.method) == {"exact"}
    spec, data = model_and_data(TrainConfig(**{**SMALL, "hidden": (6,)}))
    naive = _naive_hessian(spec, data, params["checkpoints"][steps.index(step)])
    assert len(frame) == spec.n_params and list(frame["index"]) == list(range(spec.n_params))
    np.testing.assert_allclose(frame.eigenvalue, naive, atol=2e-5 * np.abs(naive).max())


def test_cli_spectrum_top_k_by_lanczos(run_dir, tmp_path, capsys):
    assert cli.main(["spectrum", "--run", str(run_dir), "--top", "4", "--out", str(tmp_path), "--png"]) == 0
    capsys.readouterr()
    frame = pd.read_csv(tmp_path / "eigenvalues.csv")
    assert len(frame) == 8 and set(frame.method) == {"lanczos"} and frame.eigenvalue.is_monotonic_increasing
    assert (tmp_path / "spectrum.png").stat().st_size > 1000


def test_cli_spectrum_lanczos_on_a_small_run_says_lanczos_was_asked_for(run_dir, tmp_path, capsys):
    """A run far below the exact limit, Lanczos by choice: no note that the exact spectrum was refused."""
    assert cli.main(["spectrum", "--run", str(run_dir), "--method", "lanczos", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "refused" not in out and "2,500" not in out, out
    assert ": lanczos, 20 eigenvalues of 32;" in out and "(--method lanczos: the 10 largest and smallest)" in out, out


@pytest.mark.parametrize("args, match", [
    (["--step", "7"], "no checkpoint at step 7"),
    (["--top", "0"], "--top must be at least 1"),
])
def test_cli_spectrum_errors(run_dir, tmp_path, capsys, args, match):
    assert cli.main(["spectrum", "--run", str(run_dir), *args, "--out", str(tmp_path)]) == 2
    assert match in capsys.readouterr().err


def test_cli_spectrum_summary_for_each_method(tmp_path, capsys):
    """summary.json: the Train page's default run, exact against slq (the issue's 0.03), and lanczos's extremes."""
    run = tmp_path / "run"
    assert cli.main(["train", "--set", "steps=1500", "--out", str(run)]) == 0
    summaries = {}
    for method in ("exact", "slq", "lanczos"):
        assert cli.main(["spectrum", "--run", str(run), "--method", method, "--out", str(tmp_path / method)]) == 0
        summaries[method] = json.loads((tmp_path / method / "summary.json").read_text(encoding="utf-8"))
    exact, slq, lanczos = summaries["exact"], summaries["slq"], summaries["lanczos"]
    assert exact["method"] == "exact" and exact["condition_number"] > 1 and "effective-rank" in exact[
        "condition_definition"]
    assert slq["index"] == pytest.approx(exact["index"], abs=0.03) and slq["condition_number"] is None
    assert slq["lambda_max"] == pytest.approx(exact["lambda_max"], rel=1e-3)
    assert lanczos["index"] is None and lanczos["lambda_max"] == pytest.approx(exact["lambda_max"], rel=1e-3)
    assert not (tmp_path / "slq" / "eigenvalues.csv").exists()
    assert cli.main(["spectrum", "--run", str(run), "--method", "slq", "--top", "3", "--out", str(tmp_path)]) == 2
    assert "--top goes with --method lanczos" in capsys.readouterr().err


def test_cli_spectrum_falls_back_to_lanczos_above_the_exact_limit(tmp_path, capsys):
    out = tmp_path / "big"
    assert cli.main(["train", "--set", "hidden=[64,64]", "--set", "steps=2", "--set", "n_samples=100",
                     "--out", str(out)]) == 0
    assert cli.main(["spectrum", "--run", str(out), "--out", str(tmp_path / "s")]) == 0
    assert "the exact spectrum is refused" in capsys.readouterr().out
    frame = pd.read_csv(tmp_path / "s" / "eigenvalues.csv")
    assert len(frame) == 20 and set(frame.method) == {"lanczos"}


def test_cli_compare_optimizers(tmp_path, capsys):
    config = tmp_path / "c.json"
    config.write_text(json.dumps({**SMALL, "batch_size": 0, "steps": 10}), encoding="utf-8")
    code = cli.main(["compare-optimizers", "--config", str(config), "--optimizers", "sgd,newton,saddle-free",
                     "--setting", "newton.lr=1", "--setting", "saddle-free.lr=1", "--out", str(tmp_path / "o")])
    assert code == 0, capsys.readouterr().err
    frame = pd.read_csv(tmp_path / "o" / "optimizers.csv")
    assert list(frame.columns) == ["optimizer", "step", "train_loss", "grad_norm", "index"]
    assert set(frame.optimizer) == {"sgd", "newton", "saddle-free"}
    assert frame.groupby("optimizer").step.min().eq(0).all()
    assert frame["index"].between(0, 1).all()


@pytest.mark.parametrize("args, match", [
    (["--optimizers", "sgd,rmsprop"], "'rmsprop' is not one"),
    (["--optimizers", "sgd,sgd"], "twice"),
    (["--optimizers", "sgd", "--setting", "adam.lr=1"], "not among the optimizers"),
])
def test_cli_compare_errors(tmp_path, capsys, args, match):
    assert cli.main(["compare-optimizers", "--set", "steps=3", *args, "--out", str(tmp_path)]) == 2
    assert match in capsys.readouterr().err


def test_the_comparison_estimates_its_time_from_measured_steps(monkeypatch):
    """Every ticked optimizer's measured time per step counts, times the steps (a clock of its own: no wall clock)."""
    from types import SimpleNamespace

    clock, per_step = [0.0], {"sgd": 0.001, "newton": 0.01}

    class Timed(compare.Run):
        def train(self, max_steps=None, max_seconds=None):
            done = super().train(max_steps=max_steps, max_seconds=max_seconds)
            clock[0] += per_step[self.config.optimizer] * done
            return done

    monkeypatch.setattr(compare, "Run", Timed)
    monkeypatch.setattr(compare, "time", SimpleNamespace(perf_counter=lambda: clock[0]))
    config = TrainConfig(**{**SMALL, "hidden": (6,), "steps": 50})
    assert compare.estimate_seconds(config, {"sgd": {}}) == pytest.approx(0.001 * 50)
    both = compare.estimate_seconds(config, {"sgd": {}, "newton": {"lr": 1.0}})
    assert both == pytest.approx((0.001 + 0.01) * 50)
    assert compare.estimate_seconds(config, {}) == 0
