"""Linear interpolation and straying from the path (definitions §2, §3) against naive loops and hand values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from core.model import networks
from core.model.data import make_dataset
from core.probes import interpolation
from core.probes.interpolation import alpha_grid, curve_metrics, interpolate
from core.probes.straying import straying, straying_summary

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
]


# ---- alpha grid -----------------------------------------------------------------------------------------
def _ranges():
    fixed = [(0.0, 1.0, 41), (0.0, 1.0, 3), (0.0, 1.0, 200), (-0.5, 1.5, 41), (-0.5, 1.5, 200), (-1.0, 2.0, 4),
             (-10.0, 11.0, 1000), (-0.3, 1.0, 7), (0.0, 1.7, 9), (-0.001, 1.001, 17), (-3.0, 1.0, 1000),
             (-0.1, 1.1, 3), (-0.2, 1.2, 13), (-7.7, 3.3, 101)]
    rng = np.random.default_rng(0)
    drawn = [(-float(rng.uniform(0, 10)), 1 + float(rng.uniform(0, 10)), int(rng.integers(3, 1001)))
             for _ in range(300)]
    return fixed + drawn


def test_alpha_grid_contains_zero_and_one_exactly_and_is_sorted():
    for lo, hi, n in _ranges():
        grid = alpha_grid(lo, hi, n)
        assert grid.dtype == np.float64
        assert (grid == 0.0).sum() == 1 and (grid == 1.0).sum() == 1, (lo, hi, n)
        assert np.all(np.diff(grid) > 0), (lo, hi, n)
        assert grid[0] == lo and grid[-1] == hi, (lo, hi, n)
        assert n <= len(grid) <= n + 2


def test_alpha_grid_is_evenly_spaced_where_nothing_was_inserted():
    grid = alpha_grid(-0.5, 1.5, 41)
    np.testing.assert_array_equal(grid[[0, 10, 30, 40]], [-0.5, 0.0, 1.0, 1.5])
    np.testing.assert_allclose(np.diff(grid), 0.05, rtol=1e-9)
    assert len(alpha_grid(0.0, 1.0, 200)) == 200


def test_alpha_grid_inserts_zero_and_one_when_they_are_off_the_grid():
    grid = alpha_grid(-1.0, 2.0, 4)  # linspace gives -1, 0, 1, 2 already
    np.testing.assert_array_equal(grid, [-1.0, 0.0, 1.0, 2.0])
    grid = alpha_grid(-0.25, 1.5, 3)  # -0.25, 0.625, 1.5: both inserted
    np.testing.assert_array_equal(grid, [-0.25, 0.0, 0.625, 1.0, 1.5])


@pytest.mark.parametrize(("lo", "hi", "n"), [(-1e-9, 1.0, 11), (0.0, 1.0 + 1e-9, 11), (-1e-7, 1.0, 3)])
def test_alpha_grid_keeps_its_endpoints_next_to_zero_and_one(lo, hi, n):
    grid = alpha_grid(lo, hi, n)
    assert grid[0] == lo and grid[-1] == hi
    assert 0.0 in grid and 1.0 in grid


# ---- interpolation ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data():
    return make_dataset("blobs", 150, 0.2, 0.3, seed=4)  # 3 classes: 105 train, 45 val


MODELS = [(act, hidden) for act in ("relu", "tanh", "sigmoid", "linear", "maxout") for hidden in ((), (8, 4))]


def _endpoints(spec):
    theta0 = networks.init_params(spec, scale=1.0, seed=1)
    theta1 = networks.init_params(spec, scale=3.0, seed=2) + 0.1
    return theta0, theta1


@pytest.mark.parametrize(("activation", "hidden"), MODELS)
def test_interpolation_endpoints_equal_evaluate(data, activation, hidden):
    spec = networks.MLP(data.n_features, hidden, data.n_classes, activation)
    theta0, theta1 = _endpoints(spec)
    frame = interpolate(spec, theta0, theta1, data, alpha_grid(-0.5, 1.5, 21))
    assert list(frame.columns) == ["alpha", "train_loss", "val_loss", "train_error", "val_error"]
    for alpha, theta in ((0.0, theta0), (1.0, theta1)):
        row = frame[frame.alpha == alpha]
        assert len(row) == 1
        row = row.iloc[0]
        tl, te = networks.evaluate(spec, theta, data.x_train, data.y_train)
        vl, ve = networks.evaluate(spec, theta, data.x_val, data.y_val)
        assert row.train_loss == pytest.approx(tl, rel=1e-5)
        assert row.val_loss == pytest.approx(vl, rel=1e-5)
        assert row.train_error == pytest.approx(te, abs=1e-12)
        assert row.val_error == pytest.approx(ve, abs=1e-12)


@pytest.mark.parametrize(("activation", "hidden"), MODELS)
def test_batched_interpolation_equals_naive_loop(data, activation, hidden, monkeypatch):
    spec = networks.MLP(data.n_features, hidden, data.n_classes, activation)
    theta0, theta1 = _endpoints(spec)
    alphas = alpha_grid(-0.5, 1.5, 17)
    frame = interpolate(spec, theta0, theta1, data, alphas)
    np.testing.assert_array_equal(frame.alpha.to_numpy(), alphas)
    naive = []
    for a in alphas:  # float64 reference, one alpha at a time
        theta = (1 - a) * theta0.double() + a * theta1.double()
        spec_rows = [networks.evaluate(spec, theta, s[0].double(), s[1])
                     for s in ((data.x_train, data.y_train), (data.x_val, data.y_val))]
        naive.append([a, spec_rows[0][0], spec_rows[1][0], spec_rows[0][1], spec_rows[1][1]])
    naive = np.array(naive)
    np.testing.assert_allclose(frame.train_loss, naive[:, 1], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(frame.val_loss, naive[:, 2], rtol=1e-4, atol=1e-6)
    # an argmax may flip on a near tie between float32 and float64: at most one sample
    assert np.abs(frame.train_error - naive[:, 3]).max() <= 1 / len(data.y_train) + 1e-12
    assert np.abs(frame.val_error - naive[:, 4]).max() <= 1 / len(data.y_val) + 1e-12
    # the batched path (a GPU's default) and the one-alpha-at-a-time path (a CPU's) give the same numbers,
    # also when the batch is split into several chunks
    for chunk_elements in (interpolation.GPU_CHUNK_ELEMENTS, 1):
        monkeypatch.setattr(interpolation, "GPU_CHUNK_ELEMENTS", chunk_elements)
        for batched in (True, False):
            other = interpolate(spec, theta0, theta1, data, alphas, batched=batched)
            pd.testing.assert_frame_equal(other, frame, rtol=1e-6, atol=1e-7)


def test_interpolation_of_a_point_with_itself_is_flat(data):
    spec = networks.MLP(data.n_features, (8,), data.n_classes, "tanh")
    theta = networks.init_params(spec, seed=5)
    frame = interpolate(spec, theta, theta.clone(), data, alpha_grid(0, 1, 11))
    loss, _ = networks.evaluate(spec, theta, data.x_train, data.y_train)
    np.testing.assert_allclose(frame.train_loss, loss, rtol=1e-5)


# ---- curve metrics ---------------------------------------------------------------------------------------
def test_decreasing_curve_is_monotone():
    alphas = np.linspace(0, 1, 11)
    m = curve_metrics(alphas, 3.0 - 2.0 * alphas**2)
    assert m["monotone"] is True
    assert m["max_bump"] == 0.0
    assert m["barrier"] == pytest.approx(0.5)  # above the chord 3 - 2α by 2α - 2α², most at α = ½


def test_bump_is_found_with_its_alpha():
    alphas = np.linspace(0, 1, 6)  # 0, .2, .4, .6, .8, 1
    values = np.array([5.0, 3.0, 4.5, 1.0, 2.0, 1.0])
    # running minimum 5, 3, 3, 1, 1, 1 -> bumps 0, 0, 1.5, 0, 1, 0
    m = curve_metrics(alphas, values)
    assert m["monotone"] is False
    assert m["max_bump"] == pytest.approx(1.5)
    assert m["bump_alpha"] == pytest.approx(0.4)
    assert m["barrier"] == pytest.approx(4.5 - (5.0 - 4.0 * 0.4))  # the chord 5 - 4α is lowest below α = 0.4


def test_small_bump_breaks_monotonicity():
    alphas = np.linspace(0, 1, 101)
    values = np.exp(-3 * alphas)
    values[60] += 0.01
    m = curve_metrics(alphas, values)
    assert m["monotone"] is False
    assert m["bump_alpha"] == pytest.approx(0.6)
    assert m["max_bump"] == pytest.approx(values[60] - values[59])


def test_barrier_of_convex_curve_between_equal_ends_is_not_positive():
    alphas = alpha_grid(-0.5, 1.5, 41)
    values = (alphas - 0.5) ** 2 + 2.0
    m = curve_metrics(alphas, values)
    assert m["barrier"] <= 1e-12


def test_barrier_of_bump_between_solutions_equals_hand_value():
    alphas = np.linspace(0, 1, 21)  # contains 0.5
    values = 1.0 + 0.3 * np.sin(np.pi * alphas) + 0.2 * alphas  # ends 1.0 and 1.2
    m = curve_metrics(alphas, values)
    assert m["barrier"] == pytest.approx(0.3)  # 0.3 sin(πα) above the chord 1 + 0.2α
    assert m["barrier"] == pytest.approx(max(v - (1 - a) * values[0] - a * values[-1] for a, v in zip(alphas, values)))


def test_curve_metrics_look_only_at_zero_to_one():
    alphas = alpha_grid(-0.5, 1.5, 21)
    inside = (alphas >= 0) & (alphas <= 1)
    values = np.where(inside, 2.0 - alphas, 100.0 * np.abs(alphas))  # huge, rising outside [0, 1]
    m = curve_metrics(alphas, values)
    assert m["monotone"] is True and m["max_bump"] == 0.0
    assert m["barrier"] == pytest.approx(0.0, abs=1e-12)  # a straight line is its own chord


# ---- straying ---------------------------------------------------------------------------------------------
def test_straying_hand_example_residual_is_not_squared():
    theta_i, theta_f = torch.tensor([0.0, 0.0]), torch.tensor([1.0, 0.0])
    thetas = torch.tensor([[0.0, 0.0], [2.0, 3.0], [1.0, 0.0]])
    frame = straying([0, 5, 9], thetas, theta_i, theta_f)
    assert list(frame.columns) == ["step", "projection", "residual", "param_norm"]
    assert frame.step.tolist() == [0, 5, 9]
    np.testing.assert_allclose(frame.projection, [0.0, 2.0, 1.0])
    np.testing.assert_allclose(frame.residual, [0.0, 3.0, 0.0])  # sqrt(9), not 9
    np.testing.assert_allclose(frame.param_norm, [0.0, np.sqrt(13.0), 1.0])


@pytest.mark.parametrize("P", [3, 50, 1000])
def test_straying_matches_naive_numpy(P):
    rng = np.random.default_rng(P)
    theta_i = rng.normal(size=P)
    walk = theta_i + np.cumsum(rng.normal(size=(30, P)), axis=0)
    theta_f = walk[20]
    thetas = np.vstack([theta_i, walk])
    frame = straying(range(31), torch.tensor(thetas, dtype=torch.float32), torch.tensor(theta_i, dtype=torch.float32),
                     torch.tensor(theta_f, dtype=torch.float32))

    def t32(a):  # the float32 inputs that core saw, in float64
        return np.asarray(a, dtype=np.float32).astype(np.float64)

    ti, tf = t32(theta_i), t32(theta_f)
    axis = tf - ti
    u = axis / np.sqrt(np.sum(axis**2))
    proj, res, norm = [], [], []
    for row in t32(thetas):  # one row at a time
        d = row - ti
        p = float(np.sum(d * u))
        proj.append(p)
        res.append(float(np.sqrt(np.sum((d - p * u) ** 2))))
        norm.append(float(np.sqrt(np.sum(row**2))))
    np.testing.assert_allclose(frame.projection, proj, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(frame.residual, res, rtol=1e-7, atol=1e-9 * np.sqrt(np.sum(axis**2)))
    np.testing.assert_allclose(frame.param_norm, norm, rtol=1e-9)
    length = np.sqrt(np.sum(axis**2))
    assert frame.residual[0] == 0.0
    assert frame.residual[21] <= 1e-9 * length
    assert frame.projection[21] == pytest.approx(length, rel=1e-12)
    # Pythagoras: p^2 + r^2 = |theta - theta_i|^2
    d2 = np.sum((t32(thetas) - ti) ** 2, axis=1)
    np.testing.assert_allclose(frame.projection**2 + frame.residual**2, d2, rtol=1e-9)


def test_straying_with_zero_axis_uses_the_distance():
    theta_i = torch.tensor([1.0, 1.0])
    thetas = torch.tensor([[1.0, 1.0], [4.0, 5.0]])
    frame = straying([0, 1], thetas, theta_i, theta_i.clone())
    np.testing.assert_allclose(frame.projection, [0.0, 0.0])
    np.testing.assert_allclose(frame.residual, [0.0, 5.0])


def test_straying_summary_rho_and_two_thirds():
    frame = pd.DataFrame({"step": [0, 1, 2], "projection": [0.0, 1.0, 2.0], "residual": [0.0, 1.0, 2.0],
                          "param_norm": [1.0, 3.0, 6.0]})
    s = straying_summary(frame)
    assert s["max_residual"] == 2.0
    assert s["max_rho"] == pytest.approx(1 / 3)
    assert s["two_thirds_holds"] is True  # rho <= 1/3 at all times (boundary included)
    frame.loc[2, "param_norm"] = 5.0  # rho = 0.4
    s = straying_summary(frame)
    assert s["max_rho"] == pytest.approx(0.4)
    assert s["two_thirds_holds"] is False


def test_straying_summary_matches_frame_from_straying():
    rng = np.random.default_rng(7)
    thetas = torch.tensor(rng.normal(size=(12, 20)))
    frame = straying(range(12), thetas, thetas[0], thetas[-1])
    s = straying_summary(frame)
    rho = frame.residual.to_numpy() / np.linalg.norm(thetas.numpy(), axis=1)
    assert s["max_rho"] == pytest.approx(rho.max())
    assert s["max_residual"] == pytest.approx(frame.residual.max())
    assert s["two_thirds_holds"] == bool(rho.max() <= 1 / 3)


def test_float32_straying_of_the_live_view_matches_float64():
    gen = torch.Generator().manual_seed(0)
    start = torch.randn(5000, generator=gen)
    walk = start + torch.cumsum(0.01 * torch.randn(60, 5000, generator=gen), dim=0)
    thetas = torch.cat([start[None], walk])
    exact = straying(range(61), thetas, thetas[0], thetas[-1])
    fast = straying(range(61), thetas, thetas[0], thetas[-1], dtype=torch.float32, rows=7)
    scale = float(torch.linalg.vector_norm(thetas[-1]))
    for column in ("projection", "residual", "param_norm"):
        np.testing.assert_allclose(fast[column], exact[column], atol=1e-5 * scale)
