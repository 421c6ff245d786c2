"""core.plane and core.landscape_charts against independent answers: numpy SVD, naive loops, closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from core.charts import landscape as lc
from core.model import networks
from core.model.config import TrainConfig
from core.model.data import make_dataset
from core.model.records import from_run
from core.probes import fig7 as f7
from core.probes import plane as pl
from core.train import replay as rp
from core.train.run import Run

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SPEC = networks.MLP(2, (6, 5), 3, "tanh")


def _trajectory(k: int = 12, seed: int = 0) -> torch.Tensor:
    """A random-walk-like (K, P) trajectory: a drift plus noise, in float32 like the stored ones."""
    gen = torch.Generator().manual_seed(seed)
    start = networks.init_params(SPEC, 1.0, seed)
    drift = torch.randn(SPEC.n_params, generator=gen)
    steps = torch.randn(k, SPEC.n_params, generator=gen).cumsum(0) * 0.3
    return (start + torch.linspace(0, 1, k)[:, None] * drift + steps - steps[0]).float()


@pytest.mark.parametrize("direction", pl.DIRECTIONS)
def test_directions_are_orthonormal_and_the_ends_land_where_they_should(direction):
    thetas = _trajectory()
    plane = pl.make_plane(SPEC, thetas, direction, seed=3)
    gram = torch.stack([plane.d1, plane.d2]) @ torch.stack([plane.d1, plane.d2]).T
    assert torch.allclose(gram, torch.eye(2, dtype=torch.float64), atol=1e-12)
    frame = pl.project(plane, range(len(thetas)), thetas)
    length = float(np.linalg.norm(thetas[-1].double().numpy() - thetas[0].double().numpy()))
    assert frame.iloc[0][["a", "b", "distance"]].tolist() == pytest.approx([0, 0, 0], abs=1e-12)
    assert frame.iloc[-1][["a", "b", "distance"]].tolist() == pytest.approx([length, 0, 0], abs=1e-9 * length)
    # Pythagoras against the raw vectors: a² + b² + distance² = ‖θ_t − θ_i‖²
    d = thetas.double().numpy() - thetas[0].double().numpy()
    assert np.allclose(frame["a"] ** 2 + frame["b"] ** 2 + frame["distance"] ** 2, (d * d).sum(1), rtol=1e-10)


def test_a_trajectory_in_the_plane_reconstructs_exactly_with_distance_zero():
    gen = torch.Generator().manual_seed(1)
    theta_i = torch.randn(SPEC.n_params, generator=gen, dtype=torch.float64)
    u, v = torch.randn(2, SPEC.n_params, generator=gen, dtype=torch.float64)
    coeffs = torch.randn(20, 2, generator=gen, dtype=torch.float64)
    coeffs[0], coeffs[-1] = 0, torch.tensor([1.0, 0.0])
    thetas = theta_i + coeffs[:, :1] * u + coeffs[:, 1:] * v  # θ_f = θ_i + u, every θ_t in span(u, v)
    plane = pl.make_plane(SPEC, thetas, "pca")
    frame = pl.project(plane, range(20), thetas)
    assert frame["distance"].max() < 1e-10 * float(u.norm())
    rebuilt = (theta_i + torch.tensor(frame["a"].to_numpy())[:, None] * plane.d1
               + torch.tensor(frame["b"].to_numpy())[:, None] * plane.d2)
    assert torch.allclose(rebuilt, thetas, atol=1e-12, rtol=0)
    assert pl.captured_variance(plane, thetas)["plane"] == pytest.approx(1, abs=1e-12)
    assert torch.allclose(pl.shadows(plane, frame), thetas, atol=1e-12, rtol=0)


def test_pca_direction_and_captured_variance_match_a_numpy_svd():
    thetas = _trajectory(k=15, seed=4)
    plane = pl.make_plane(SPEC, thetas, "pca")
    d = thetas.double().numpy() - thetas[0].double().numpy()
    u = d[-1] / np.linalg.norm(d[-1])
    resid = d - np.outer(d @ u, u)
    _, s, vt = np.linalg.svd(resid, full_matrices=False)
    assert abs(float(vt[0] @ plane.d2.numpy())) == pytest.approx(1, abs=1e-9)
    shares = pl.captured_variance(plane, thetas)
    total = (d * d).sum()
    assert shares["d1"] == pytest.approx(((d @ u) ** 2).sum() / total, rel=1e-10)
    assert shares["d2"] == pytest.approx(s[0] ** 2 / total, rel=1e-9)
    assert shares["plane"] == pytest.approx((((d @ u) ** 2).sum() + s[0] ** 2) / total, rel=1e-9)
    # no other unit direction orthogonal to u captures more than the top singular vector
    rng = np.random.default_rng(0)
    for _ in range(20):
        w = rng.standard_normal(len(u))
        w -= (w @ u) * u
        w /= np.linalg.norm(w)
        assert ((d @ w) ** 2).sum() <= s[0] ** 2 * (1 + 1e-12)


def test_filter_normalisation_matches_a_loop_over_rows():
    gen = torch.Generator().manual_seed(2)
    direction = torch.randn(SPEC.n_params, generator=gen, dtype=torch.float64)
    reference = torch.randn(SPEC.n_params, generator=gen, dtype=torch.float64)
    got = pl.filter_normalized(SPEC, direction, reference)
    expected, at = direction.clone(), 0
    for (out, inp), _ in SPEC.shapes:
        for r in range(out):
            row = slice(at + r * inp, at + (r + 1) * inp)
            expected[row] = direction[row] / direction[row].norm() * reference[row].norm()
        at += out * inp
        expected[at : at + out] = 0  # biases
        at += out
    assert torch.allclose(got, expected, rtol=1e-12, atol=0)
    assert not torch.equal(pl.random_direction(SPEC, reference, 0), pl.random_direction(SPEC, reference, 1))
    assert torch.equal(pl.random_direction(SPEC, reference, 5), pl.random_direction(SPEC, reference, 5))


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_grid_losses_match_a_naive_loop_of_loss_fn(activation):
    spec = networks.MLP(2, (16, 8), 2, activation)
    data = make_dataset("moons", 300, 0.2, 0.2, 0, torch.device("cpu"))
    thetas = torch.stack([networks.init_params(spec, 1.0, s) for s in (0, 1, 2)])
    plane = pl.make_plane(spec, thetas, "random", seed=7)
    a, b = np.linspace(-1.0, 4.0, 9), np.linspace(-2.0, 2.0, 7)
    fractions = []
    grid = pl.loss_grid(spec, data, plane, a, b, progress=fractions.append)
    assert fractions[-1] == 1 and len(fractions) == len(b)
    assert len(grid) == len(a) * len(b)
    for row in grid.sample(12, random_state=0).itertuples():
        theta = (plane.origin.double() + row.a * plane.d1 + row.b * plane.d2).float()
        train = float(networks.loss_fn(spec, theta, data.x_train, data.y_train))
        val = float(networks.loss_fn(spec, theta, data.x_val, data.y_val))
        assert row.train_loss == pytest.approx(train, rel=1e-4, abs=1e-6)
        assert row.val_loss == pytest.approx(val, rel=1e-4, abs=1e-6)


def test_fig7_coordinates_are_the_widest_ranging_and_named_by_layer():
    thetas = _trajectory(k=9, seed=6)
    ranges = np.ptp(thetas.double().numpy(), axis=0)
    expected = list(np.argsort(-ranges)[:2])
    assert f7.top_range_coordinates(thetas, 2) == expected
    frame = f7.fig7_frame(SPEC, range(9), thetas, np.arange(9) + 1.0)
    assert np.allclose(frame["x"], thetas[:, expected[0]].double().numpy())
    assert np.allclose(frame["y"], thetas[:, expected[1]].double().numpy())
    for j in (0, 13, SPEC.n_params - 1, 2 * 6 + 6 + 2):  # W1[0, 0], a W1 entry, the last b3, b1[2]
        marker = torch.zeros(SPEC.n_params)
        marker[j] = 1
        parts = SPEC.split(marker)
        k = next(i for i, p in enumerate(parts) if p.sum() == 1)
        idx = tuple(int(i) for i in (parts[k] == 1).nonzero()[0])
        name = ("W" if k % 2 == 0 else "b") + str(k // 2 + 1)
        assert f7.coordinate_name(SPEC, j) == f"{name}[{', '.join(map(str, idx))}]"
    with pytest.raises(ValueError):
        f7.coordinate_name(SPEC, SPEC.n_params)


def test_replay_reproduces_the_checkpoints_and_notices_a_changed_config():
    config = TrainConfig(n_samples=200, hidden=(8,), steps=60, log_every=7, device="cpu", seed=1)
    run = Run(config)
    run.train()
    record = from_run(run, "r")
    targets = rp.replay_targets(record.metrics["step"], record.steps, record.step, run.spec.n_params)
    assert set(record.steps) <= set(targets) and set(record.metrics["step"]) <= set(targets)
    steps, thetas = rp.replay(config, targets)
    assert steps == targets
    rp.check_replay(steps, thetas, record.steps, record.checkpoints)
    assert torch.allclose(thetas[-1], run.theta, atol=1e-6)
    _, other = rp.replay(config.replace(lr=0.2), targets)
    with pytest.raises(ValueError, match="did not reproduce"):
        rp.check_replay(steps, other, record.steps, record.checkpoints)


def test_replay_targets_thin_to_the_byte_cap_but_keep_checkpoints():
    n_params = rp.REPLAY_BYTES // (4 * 40)  # room for 40 snapshots
    got = rp.replay_targets(range(0, 10_000, 5), [0, 333, 9995], 9995, n_params)
    assert len(got) == 40 and {0, 333, 9995} <= set(got) and got == sorted(got)


def test_bad_input_raises_one_clear_sentence():
    thetas = _trajectory()
    with pytest.raises(ValueError, match="direction must be"):
        pl.make_plane(SPEC, thetas, "sideways")
    with pytest.raises(ValueError, match="θ_f equals θ_i"):
        pl.make_plane(SPEC, torch.stack([thetas[0], thetas[0]]), "random")
    on_line = torch.stack([thetas[0], (thetas[0] + thetas[-1]) / 2, thetas[-1]]).double()
    with pytest.raises(ValueError, match="lies on the line"):
        pl.make_plane(SPEC, on_line, "pca")


def test_spans_cover_the_ends_and_the_trajectory():
    frame = pd.DataFrame({"a": [0.0, -1.0, 5.0, 4.0], "b": [0.0, 3.0, -0.5, 0.0]})
    (a_lo, a_hi), (b_lo, b_hi) = pl.spans(frame, 4.0, margin=0.25)
    assert (a_lo, a_hi, b_lo, b_hi) == pytest.approx((-2.0, 6.0, -1.5, 4.0))
    (_, _), (b_lo, b_hi) = pl.spans(frame.assign(b=0.0), 4.0, margin=0.0, min_b=0.5)
    assert (b_lo, b_hi) == pytest.approx((-1.0, 1.0))


def test_isolines_of_a_plane_lie_on_its_level_lines():
    a, b = np.linspace(-1, 2, 13), np.linspace(0, 3, 11)
    values = a[None, :] + 2 * b[:, None]  # f(a, b) = a + 2b, values[j, i] = f(a_i, b_j)
    segs = lc.isolines(a, b, values, [1.0, 2.5])
    assert len(segs) > 0
    for end in (("x", "y"), ("x2", "y2")):
        assert np.allclose(segs[end[0]] + 2 * segs[end[1]], segs["level"], atol=1e-12)
    # each level line a + 2b = c crosses the box once: its segments add up to its length inside the box
    for level in (1.0, 2.5):
        s = segs[segs["level"] == level]
        total = np.hypot(s["x2"] - s["x"], s["y2"] - s["y"]).sum()
        bs = np.linspace(0, 3, 100001)
        inside = bs[((level - 2 * bs) >= -1) & ((level - 2 * bs) <= 2)]
        assert total == pytest.approx((inside[-1] - inside[0]) * np.sqrt(5), rel=1e-3)


def test_plane_chart_marks_off_plane_steps_and_the_ends():
    grid = pd.DataFrame([(x, y, 1 + x * x + y * y, 2.0) for x in np.linspace(-1, 3, 5) for y in np.linspace(-1, 1, 5)],
                        columns=["a", "b", "train_loss", "val_loss"])
    trajectory = pd.DataFrame({"step": [0, 10, 20, 30], "a": [0, 1, 1.5, 2.0], "b": [0, 0.5, 0.2, 0],
                               "distance": [0, 0.5, 0.05, 0], "loss": [3, 2, 1.5, 1], "plane_loss": [3, 2.2, 1.4, 1]})
    spec = lc.plane_chart(grid, trajectory, length=2.0, threshold=0.1).to_dict()
    data = spec["datasets"]
    segments = next(v for v in data.values() if v and "where" in v[0] and "x2" in v[0])
    assert [s["where"] for s in segments] == [lc.OFF, lc.OFF, lc.ON]  # 0.5 > 0.2 on both sides of step 10
    ends = next(v for v in data.values() if v and v[0].get("label") == "θ_i")
    assert [(e["a"], e["b"]) for e in ends] == [(0.0, 0.0), (2.0, 0.0)]
    assert "log" in str(spec) and "strokeDash" in str(spec)
    fig7 = lc.fig7_chart(f7.fig7_frame(SPEC, range(4), _trajectory(k=4), [3, 2, 1.5, 1])).to_dict()
    assert "W" in fig7["layer"][0]["encoding"]["x"]["title"]
