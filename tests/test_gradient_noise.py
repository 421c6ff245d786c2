"""Inexact gradients (core/probes/gradient_noise.py) against answers found another way: naive autograd loops per
minibatch and per example, and the sampling theory of drawing without replacement."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch

from core.model import networks
from core.model.build import model_and_data
from core.model.config import from_dict
from core.probes import gradient_noise as gn

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _problem(**fields):
    config = from_dict({"dataset": "moons", "n_samples": 100, "hidden": [6, 5], "activation": "tanh",
                        "device": "cpu", **fields})
    spec, data = model_and_data(config)
    return spec, networks.init_params(spec, config.init_scale, config.seed), data.x_train, data.y_train


def _naive_gradient(spec, theta, x, y) -> torch.Tensor:
    theta = theta.detach().clone().requires_grad_(True)
    networks.loss_fn(spec, theta, x, y).backward()
    return theta.grad


def test_the_full_batch_has_error_zero_and_cosine_one():
    spec, theta, x, y = _problem()
    frame = gn.noise_table(spec, theta, x, y, [1, 8, "full"], samples=16, seed=0)
    full = frame.iloc[-1]
    assert full.batch_size == len(y)
    assert (full.relative_error_mean, full.relative_error_std, full.predicted) == (0.0, 0.0, 0.0)
    assert (full.cosine_mean, full.cosine_std) == (1.0, 0.0)
    assert list(frame.columns[:6]) == ["batch_size", "relative_error_mean", "relative_error_std", "cosine_mean",
                                       "cosine_std", "predicted"]
    assert (frame.relative_error_mean.iloc[:2] > 0).all() and (frame.cosine_mean.iloc[:2] < 1).all()


def test_the_full_gradient_is_the_autograd_gradient_of_the_mean_loss():
    spec, theta, x, y = _problem()
    torch.testing.assert_close(gn.full_gradient(spec, theta, x, y), _naive_gradient(spec, theta, x, y))


def test_minibatch_gradients_equal_a_naive_loop_over_the_same_minibatches():
    spec, theta, x, y = _problem(hidden=[7], activation="relu")
    got = gn.minibatch_gradients(spec, theta, x, y, 12, 20, torch.Generator().manual_seed(5))
    idx = gn.minibatch_indices(len(y), 12, 20, torch.Generator().manual_seed(5))
    assert got.shape == (20, spec.n_params) and idx.shape == (20, 12)
    assert all(len(set(row.tolist())) == 12 for row in idx)  # without replacement
    assert len({tuple(sorted(row.tolist())) for row in idx}) == 20  # each sample its own subset
    expected = torch.stack([_naive_gradient(spec, theta, x[row], y[row]) for row in idx])
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_per_example_gradients_and_the_covariance_trace_equal_a_naive_loop():
    spec, theta, x, y = _problem()
    per = torch.stack([_naive_gradient(spec, theta, x[i : i + 1], y[i : i + 1]) for i in range(len(y))]).double()
    torch.testing.assert_close(gn.per_example_gradients(spec, theta, x, y).double(), per, rtol=1e-5, atol=1e-6)
    trace = (per - per.mean(0)).square().sum(1).mean().item()  # (1/N) Σ_i ‖g_i − ḡ‖²
    assert gn.gradient_covariance_trace(spec, theta, x, y) == pytest.approx(trace, rel=1e-5)


@pytest.mark.parametrize("m", [1, 4, 16, 40, 72])
def test_the_mean_squared_error_follows_sampling_without_replacement(m):
    """E‖g_B − g‖²/‖g‖² = (tr Σ/m)(N − m)/(N − 1)/‖g‖², within 4 standard errors of 4,000 draws. At m = 72 of 80
    the finite-population factor is 0.10: drawing with replacement (tr Σ/m) would miss by 10x."""
    spec, theta, x, y = _problem()
    n, samples = len(y), 4000
    g = gn.full_gradient(spec, theta, x, y).double()
    gb = gn.minibatch_gradients(spec, theta, x, y, m, samples, torch.Generator().manual_seed(m)).double()
    sq = (torch.linalg.vector_norm(gb - g, dim=1) ** 2 / g.square().sum()).numpy()
    trace = gn.gradient_covariance_trace(spec, theta, x, y)
    expected = trace / m * (n - m) / (n - 1) / g.square().sum().item()
    standard_error = sq.std(ddof=1) / math.sqrt(samples)
    assert abs(sq.mean() - expected) < 4 * standard_error, (sq.mean(), expected, standard_error)
    assert gn.predicted_error(trace, m, n) / g.square().sum().sqrt().item() == pytest.approx(math.sqrt(expected))


def test_the_table_reports_the_sampling_theory_and_jensen_puts_the_mean_below_it():
    spec, theta, x, y = _problem()
    frame = gn.noise_table(spec, theta, x, y, [2, 8, 32], samples=2000, seed=1)
    for row in frame.itertuples():
        assert row.relative_error_mean <= row.relative_error_rms  # E‖·‖ <= √E‖·‖²
        assert row.relative_error_rms == pytest.approx(row.predicted, rel=0.05)


def test_the_relative_error_falls_like_one_over_root_m_while_m_is_much_smaller_than_n():
    spec, theta, x, y = _problem(n_samples=1000, hidden=[16])
    assert len(y) == 800
    sizes = [1, 2, 4, 8, 16, 32, 64]
    frame = gn.noise_table(spec, theta, x, y, sizes, samples=256, seed=0)
    slope = np.polyfit(np.log(sizes), np.log(frame.relative_error_mean), 1)[0]
    assert slope == pytest.approx(-0.5, abs=0.1)
    assert gn.loglog_slope(frame, len(y)) == pytest.approx(slope)


def test_batch_noise_is_one_minibatch_against_the_full_gradient():
    spec, theta, x, y = _problem()
    g = gn.full_gradient(spec, theta, x, y)
    gb = _naive_gradient(spec, theta, x[:10], y[:10])
    cosine, error = gn.batch_noise(spec, theta, x[:10], y[:10], g)
    assert cosine == pytest.approx(torch.nn.functional.cosine_similarity(gb, g, dim=0).item(), rel=1e-5)
    assert error == pytest.approx((torch.linalg.vector_norm(gb - g) / torch.linalg.vector_norm(g)).item(), rel=1e-5)
    cosine, error = gn.batch_noise(spec, theta, x, y, g)
    assert cosine == pytest.approx(1.0) and error == pytest.approx(0.0, abs=1e-6)


def test_64_minibatches_of_256_on_a_few_thousand_parameters_take_well_under_a_second():
    config = from_dict({"dataset": "digits", "hidden": [64], "device": "cpu"})
    spec, data = model_and_data(config)
    theta = networks.init_params(spec, 1.0, 0)
    assert spec.n_params == 4810
    gen = torch.Generator().manual_seed(0)
    gn.minibatch_gradients(spec, theta, data.x_train, data.y_train, 256, 2, gen)  # warm-up
    times = []
    for _ in range(3):
        start = time.perf_counter()
        out = gn.minibatch_gradients(spec, theta, data.x_train, data.y_train, 256, 64, gen)
        times.append(time.perf_counter() - start)
    assert out.shape == (64, 4810) and min(times) < 0.5, times


@pytest.mark.parametrize(("sizes", "samples"), [([0], 4), ([81], 4), (["all"], 4), ([1.5], 4), ([4], 0), ([], 4)])
def test_the_table_refuses_impossible_batch_sizes_and_sample_counts(sizes, samples):
    spec, theta, x, y = _problem()
    with pytest.raises(ValueError, match="batch size|samples"):
        gn.noise_table(spec, theta, x, y, sizes, samples)
