"""The piecewise walk of core.interp_walk against naive loops of core.model.networks.evaluate (definitions §2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.model import networks
from core.probes import interp_walk, interpolation, walk_schedule
from core.probes.interp_walk import piecewise_logits, split_losses_piecewise

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PIECEWISE = ("relu", "linear", "maxout")
HIDDEN = ((8,), (8, 4), (16, 16, 8))
MESSY = [1.5, -0.5, 0.25, 1.0, 0.0, 0.25, 0.7, -0.5, 1.2, 0.5, 0.0, 0.9]  # unsorted, repeated, < 0 and > 1


def _data(n=60, n_in=5, classes=3, seed=0, dtype=torch.float32):
    """Gaussian inputs and random labels: continuous logits, so no exact ties."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, n_in, generator=gen, dtype=dtype), torch.randint(0, classes, (n,), generator=gen)


def _endpoints(spec, dtype=torch.float32):
    """Two different random nets: scale 3 and a shift make many units switch along the path."""
    theta0 = networks.init_params(spec, scale=1.0, seed=1)
    theta1 = networks.init_params(spec, scale=3.0, seed=2) + 0.1
    return theta0.to(dtype), theta1.to(dtype)


def _naive(spec, theta0, theta1, alphas, x, y):
    """(losses, errors, unsure) per alpha from theta = (1 - a) theta0 + a theta1 and networks.evaluate in float64;
    unsure counts samples whose true logit is within 1e-4 of the best other one (an argmax a rounding could flip)."""
    losses, errors, unsure = [], [], []
    t0, t1, x64 = theta0.double(), theta1.double(), x.double()
    for a in np.asarray(alphas, dtype=np.float64):
        theta = (1 - a) * t0 + a * t1
        loss, error = networks.evaluate(spec, theta, x64, y)
        logits = networks.forward(spec, spec.split(theta), x64)
        mine = logits.gather(1, y[:, None]).squeeze(1)
        rival = logits.scatter(1, y[:, None], float("-inf")).amax(1)
        losses.append(loss)
        errors.append(error)
        unsure.append(int(((mine - rival).abs() < 1e-4).sum()))
    return np.array(losses), np.array(errors), np.array(unsure)


def _check(spec, theta0, theta1, alphas, x, y, rtol=1e-5):
    """The piecewise walk agrees with the naive loop: loss to rtol, error exactly but for near-tied samples."""
    losses, errors = split_losses_piecewise(spec, theta0, theta1, torch.as_tensor(alphas, dtype=theta0.dtype), x, y)
    ref_losses, ref_errors, unsure = _naive(spec, theta0, theta1, alphas, x, y)
    assert losses.dtype == errors.dtype == np.float64 and losses.shape == errors.shape == (len(alphas),)
    np.testing.assert_allclose(losses, ref_losses, rtol=rtol, atol=1e-7)
    assert np.all(np.abs(errors - ref_errors) <= unsure / len(y) + 1e-12)
    assert unsure.sum() <= 1 + 1e-3 * unsure.size * len(y)  # the data keeps the comparison meaningful
    return losses, errors


def _count_sign_changes(spec, theta0, theta1, x, alphas):
    """Naively: the number of (sample, unit) entries whose switch changes side between consecutive distinct
    alphas, evaluating walk_schedule.positive at every alpha of the grid."""
    p0, d = spec.split(theta0), spec.split(theta1 - theta0)
    switch = walk_schedule.switch_of(*interp_walk.unit_lines(spec, F.linear(x, p0[0], p0[1]), F.linear(x, d[0], d[1])))
    grid = np.unique(np.asarray(alphas, dtype=np.float64))
    sides = [walk_schedule.positive(switch, float(a)) for a in grid]
    return sum(int((s != t).sum()) for s, t in zip(sides, sides[1:]))


# ---- agreement with the naive loop ------------------------------------------------------------------------
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("activation", PIECEWISE)
def test_piecewise_equals_naive_loop_on_messy_alphas(activation, hidden):
    x, y = _data()
    spec = networks.MLP(x.shape[1], hidden, 3, activation)
    theta0, theta1 = _endpoints(spec)
    losses, errors = _check(spec, theta0, theta1, MESSY, x, y)
    # repeated alphas give identical numbers, wherever they sit in the input
    for a in (-0.5, 0.25, 0.0):
        at = [i for i, b in enumerate(MESSY) if b == a]
        assert len(at) == 2 and losses[at[0]] == losses[at[1]] and errors[at[0]] == errors[at[1]]


@pytest.mark.parametrize("activation", PIECEWISE)
def test_no_hidden_layer_keeps_the_direct_path(activation):
    """Logistic regression: nothing to walk (the first layer is already linear in alpha); interpolation goes direct."""
    x, y = _data()
    spec = networks.MLP(x.shape[1], (), 3, activation)
    assert not interp_walk.supports(spec)
    theta0, theta1 = _endpoints(spec)
    losses, errors = interpolation._split_losses(spec, theta0, theta1, torch.tensor(MESSY), x, y)
    ref_losses, ref_errors, unsure = _naive(spec, theta0, theta1, MESSY, x, y)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5, atol=1e-7)
    assert np.all(np.abs(errors - ref_errors) <= unsure / len(y) + 1e-12)


@pytest.mark.parametrize("activation", PIECEWISE)
def test_float64_inputs(activation):
    x, y = _data(dtype=torch.float64)
    spec = networks.MLP(x.shape[1], (8, 4), 3, activation)
    theta0, theta1 = _endpoints(spec, torch.float64)
    _check(spec, theta0, theta1, np.linspace(-1, 2, 31), x, y, rtol=1e-10)


@pytest.mark.parametrize("activation", PIECEWISE)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_endpoints_equal_evaluate(activation, dtype):
    x, y = _data(dtype=dtype)
    spec = networks.MLP(x.shape[1], (16, 8), 3, activation)
    theta0, theta1 = _endpoints(spec, dtype)
    losses, errors = split_losses_piecewise(spec, theta0, theta1, torch.tensor([1.0, -0.3, 0.0, 0.6], dtype=dtype),
                                            x, y)
    for i, theta in ((2, theta0), (0, theta1)):
        loss, error = networks.evaluate(spec, theta, x, y)
        assert losses[i] == pytest.approx(loss, rel=1e-5 if dtype == torch.float32 else 1e-12)
        assert errors[i] == error


@pytest.mark.parametrize("activation", PIECEWISE)
def test_a_single_alpha(activation):
    x, y = _data()
    spec = networks.MLP(x.shape[1], (8,), 3, activation)
    theta0, theta1 = _endpoints(spec)
    for a in (0.37, -2.0, 3.0):
        _check(spec, theta0, theta1, [a], x, y)


def test_empty_alphas():
    x, y = _data()
    spec = networks.MLP(x.shape[1], (8,), 3)
    losses, errors = split_losses_piecewise(spec, *_endpoints(spec), torch.zeros(0), x, y)
    assert losses.shape == errors.shape == (0,)


def test_a_non_uniform_grid():
    """Roots are placed by torch.searchsorted when the grid is far from evenly spaced."""
    x, y = _data()
    spec = networks.MLP(x.shape[1], (16, 8), 3, "relu")
    alphas = np.concatenate([-np.geomspace(1e-3, 1.5, 9), np.geomspace(1e-4, 2.0, 25)])
    stats = {}
    split_losses_piecewise(spec, *_endpoints(spec), torch.as_tensor(alphas, dtype=torch.float32), x, y, stats)
    assert stats["flips"] == _count_sign_changes(spec, *_endpoints(spec), x, alphas.astype(np.float32))
    _check(spec, *_endpoints(spec), alphas, x, y)


# ---- switch points -------------------------------------------------------------------------------------------
def _switching_at_half(activation):
    """A net whose unit 2 switches exactly at alpha = 0.5 for every sample: its weights are 0 and its bias (or, for
    maxout, the difference of its two pieces' biases) goes from 1 to -1, so switch(a) = 1 - 2a."""
    spec = networks.MLP(5, (8,), 3, activation)
    theta0, theta1 = _endpoints(spec)
    for theta, value in ((theta0, 1.0), (theta1, -1.0)):
        w1, b1 = spec.split(theta)[:2]
        units = (4, 5) if activation == "maxout" else (2,)
        w1[list(units)] = 0.0
        b1[units[0]] = value
        if activation == "maxout":
            b1[units[1]] = 0.0
    return spec, theta0, theta1


@pytest.mark.parametrize("activation", ["relu", "maxout"])
def test_alpha_exactly_at_a_switch_point(activation):
    x, y = _data()
    spec, theta0, theta1 = _switching_at_half(activation)
    p0, d = spec.split(theta0), spec.split(theta1 - theta0)
    switch = walk_schedule.switch_of(*interp_walk.unit_lines(spec, F.linear(x, p0[0], p0[1]), F.linear(x, d[0], d[1])))
    assert torch.all(switch[0][:, 2] + 0.5 * switch[1][:, 2] == 0)  # exactly 0 at alpha = 0.5
    for alphas in ([0.5], [0.0, 0.5, 1.0], [0.5, 0.25, 0.75, 0.5 - 1e-7, 0.5 + 1e-7], [0.5, 2.0], [-1.0, 0.5]):
        stats = {}
        split_losses_piecewise(spec, theta0, theta1, torch.tensor(alphas), x, y, stats)
        assert stats["flips"] == _count_sign_changes(spec, theta0, theta1, x, np.float32(alphas))
        _check(spec, theta0, theta1, alphas, x, y)


# ---- flips -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", PIECEWISE)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_flips_processed_equal_sign_changes_counted_naively(activation, dtype):
    x, y = _data(dtype=dtype)
    spec = networks.MLP(x.shape[1], (16, 8), 3, activation)
    theta0, theta1 = _endpoints(spec, dtype)
    alphas = torch.tensor(MESSY + list(np.linspace(-1, 2, 40)), dtype=dtype)
    stats = {}
    split_losses_piecewise(spec, theta0, theta1, alphas, x, y, stats)
    expected = _count_sign_changes(spec, theta0, theta1, x, alphas.numpy())
    assert stats["flips"] == expected
    assert (expected == 0) == (activation == "linear")


def test_rows_recomputed_exactly_after_many_updates(monkeypatch):
    """With a tiny REFRESH_FLIPS rows are recomputed often; the result does not change beyond rounding."""
    x, y = _data(n=80)
    spec = networks.MLP(x.shape[1], (16, 8), 3, "relu")
    theta0, theta1 = _endpoints(spec)
    alphas = torch.linspace(-1, 2, 60)
    plain = split_losses_piecewise(spec, theta0, theta1, alphas, x, y)
    for fraction, stride in ((0.01, 1), (0.2, 16)):
        monkeypatch.setattr(walk_schedule, "REFRESH_FLIPS", fraction)
        monkeypatch.setattr(walk_schedule, "REFRESH_STRIDE", stride)
        stats = {}
        again = split_losses_piecewise(spec, theta0, theta1, alphas, x, y, stats)
        assert stats["refreshed"] > len(y)
        np.testing.assert_allclose(again[0], plain[0], rtol=1e-6)
        np.testing.assert_array_equal(again[1], plain[1])
    _check(spec, theta0, theta1, alphas.numpy(), x, y)


@pytest.mark.parametrize("activation", PIECEWISE)
def test_blocks_of_alphas_do_not_change_the_numbers(monkeypatch, activation):
    """The later layers run a block of alphas at a time; one alpha per block, or blocks of 7, give the same curve."""
    x, y = _data()
    spec = networks.MLP(x.shape[1], (16, 16, 8), 3, activation)
    theta0, theta1 = _endpoints(spec)
    alphas = torch.linspace(-0.5, 1.5, 30)
    whole = split_losses_piecewise(spec, theta0, theta1, alphas, x, y)
    for elements in (1, 7 * len(x) * 16):
        monkeypatch.setattr(interp_walk, "BLOCK_ELEMENTS", elements)
        blocked = split_losses_piecewise(spec, theta0, theta1, alphas, x, y)
        np.testing.assert_allclose(blocked[0], whole[0], rtol=1e-6)
        np.testing.assert_array_equal(blocked[1], whole[1])


# ---- accuracy on a digits-sized net --------------------------------------------------------------------------
def test_digits_sized_net_loss_curve():
    x, y = _data(n=500, n_in=64, classes=10, seed=3)
    spec = networks.MLP(64, (64, 64), 10, "relu")
    theta0, theta1 = _endpoints(spec)
    _check(spec, theta0, theta1, np.linspace(-1, 2, 61), x, y)


@pytest.mark.parametrize(("width", "lo", "hi", "scale", "factor"), [(64, -1.0, 2.0, 3.0, 2.0),
                                                                  (256, -0.5, 1.5, 2.0, 2.0)])
def test_accumulated_updates_stay_as_accurate_as_a_direct_product(width, lo, hi, scale, factor):
    """Layer 2's pre-activation after thousands of row updates vs float64, on a one-hidden-layer net whose logits
    are that pre-activation, between far-apart random endpoints (the hard case: terms much larger than what is left
    go in and out of each row). Its error relative to each row's largest entry stays within `factor` of the direct
    float32 forward pass's, about 1e-6."""
    x, _ = _data(n=400, n_in=64, classes=10, seed=3)
    spec = networks.MLP(64, (width,), 64, "relu")
    theta0 = networks.init_params(spec, scale=1.0, seed=6)
    theta1 = networks.init_params(spec, scale=scale, seed=106) + 0.1
    grid = torch.linspace(lo, hi, 121, dtype=torch.float64)
    stats = {}
    logits = torch.cat(list(piecewise_logits(spec, theta0, theta1, x, grid, stats)))  # (121, 64, N)
    assert stats["flips"] > 10 * len(x) and stats["refreshed"] > len(x)
    worst = direct = 0.0
    for k, a in enumerate(grid.tolist()):
        theta = theta0.double() + a * (theta1.double() - theta0.double())
        exact = networks.forward(spec, spec.split(theta), x.double())
        plain = networks.forward(spec, spec.split(theta0 + a * (theta1 - theta0)), x)
        scale_ = exact.abs().amax(1, keepdim=True)
        worst = max(worst, float(((logits[k].T.double() - exact).abs() / scale_).max()))
        direct = max(direct, float(((plain.double() - exact).abs() / scale_).max()))
    assert direct < 1e-6
    assert worst < factor * direct


# ---- pieces ---------------------------------------------------------------------------------------------------
def test_error_rates_follow_argmax_on_ties_and_nans():
    z = torch.tensor([[[1.0, 2.0, 2.0, 0.0, float("nan"), 3.0],
                       [2.0, 2.0, 1.0, 0.0, 0.0, float("nan")],
                       [0.0, 2.0, 2.0, 0.0, 1.0, 1.0]]])  # (1, classes 3, N 6)
    for labels in ([0, 1, 2, 0, 1, 2], [1, 0, 1, 1, 0, 0], [2, 2, 0, 2, 2, 1]):
        y = torch.tensor(labels)
        expected = (z.argmax(1) != y).double().mean(1)
        assert torch.equal(interp_walk.error_rates(z, y), expected)


def test_supports():
    assert interp_walk.supports(networks.MLP(4, (8,), 3, "relu"))
    assert interp_walk.supports(networks.MLP(4, (8, 2), 3, "maxout"))
    assert interp_walk.supports(networks.MLP(4, (8,), 3, "linear"))
    assert not interp_walk.supports(networks.MLP(4, (), 3, "relu"))  # logistic regression: nothing to walk
    assert not interp_walk.supports(networks.MLP(4, (8,), 3, "tanh"))
    assert not interp_walk.supports(networks.MLP(4, (8,), 3, "sigmoid"))


# ---- dispatch in core.probes.interpolation -----------------------------------------------------------------
@pytest.mark.parametrize(("activation", "hidden", "batched", "method", "walks"), [
    ("relu", (8,), None, None, True), ("maxout", (8, 4), False, None, True), ("linear", (8,), None, "auto", True),
    ("relu", (8,), True, None, False), ("relu", (8,), None, "direct", False), ("relu", (), None, None, False),
    ("tanh", (8,), None, None, False), ("sigmoid", (8, 4), False, None, False), ("relu", (8,), True, "piecewise", True),
])
def test_split_losses_dispatch(monkeypatch, activation, hidden, batched, method, walks):
    x, y = _data()
    spec = networks.MLP(x.shape[1], hidden, 3, activation)
    theta0, theta1 = _endpoints(spec)
    calls = []
    real = interp_walk.split_losses_piecewise
    monkeypatch.setattr(interp_walk, "split_losses_piecewise", lambda *args: calls.append(1) or real(*args))
    alphas = torch.tensor(MESSY)
    losses, errors = interpolation._split_losses(spec, theta0, theta1, alphas, x, y, batched, method)
    assert bool(calls) == walks
    ref_losses, ref_errors, unsure = _naive(spec, theta0, theta1, MESSY, x, y)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5, atol=1e-7)
    assert np.all(np.abs(errors - ref_errors) <= unsure / len(y) + 1e-12)


def test_split_losses_method_switch(monkeypatch):
    x, y = _data()
    spec = networks.MLP(x.shape[1], (8,), 3, "relu")
    theta0, theta1 = _endpoints(spec)
    alphas = torch.tensor(MESSY)
    monkeypatch.setattr(interp_walk, "METHOD", "direct")
    direct = interpolation._split_losses(spec, theta0, theta1, alphas, x, y)
    walked = interpolation._split_losses(spec, theta0, theta1, alphas, x, y, method="piecewise")
    np.testing.assert_allclose(walked[0], direct[0], rtol=1e-5)
    with pytest.raises(ValueError, match="method"):
        interpolation._split_losses(spec, theta0, theta1, alphas, x, y, method="fast")
    with pytest.raises(ValueError, match="piecewise"):
        tanh = networks.MLP(5, (8,), 3, "tanh")
        interpolation._split_losses(tanh, *_endpoints(tanh), alphas, x, y,
                            method="piecewise")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_parameters_keep_the_direct_paths_semantics(bad):
    """A diverged run: "auto" takes the direct path (NaN/inf spread as in a forward pass); the walk forced on it
    gives NaN losses rather than silently treating the broken unit as off."""
    x, y = _data()
    spec = networks.MLP(x.shape[1], (8, 4), 3, "relu")
    theta0, theta1 = _endpoints(spec)
    theta1[5] = bad  # in W1
    alphas = torch.tensor([0.0, 0.5, 1.0])
    auto = interpolation._split_losses(spec, theta0, theta1, alphas, x, y)
    direct = interpolation._split_losses(spec, theta0, theta1, alphas, x, y, method="direct")
    np.testing.assert_array_equal(auto[0], direct[0])
    np.testing.assert_array_equal(auto[1], direct[1])
    assert not interp_walk.finite(theta0, theta1)
    assert np.isnan(split_losses_piecewise(spec, theta0, theta1, alphas, x, y)[0]).all()
