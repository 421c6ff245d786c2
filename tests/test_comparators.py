"""The straying comparators (definitions §3): the random walk against a direct simulation, the convex paths against
torch.optim.SGD on a rotated (dense) copy of the problem, and the charts."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

from core.charts import comparators as cc
from core.probes.interpolation import curve_metrics
from core.probes.straying import straying
from core.toys import comparators as cmp

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ---- random walk ------------------------------------------------------------------------------------------------
def _direct_walk(dim: int, steps: int, solution: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """The definition, naively: a (steps+1, dim) walk, its axis, projections and residual norms."""
    theta = np.vstack([np.zeros(dim), np.cumsum(rng.standard_normal((steps, dim)), axis=0)])
    u = theta[solution] / np.linalg.norm(theta[solution])
    p = theta @ u
    return p, np.linalg.norm(theta - p[:, None] * u, axis=1)


def _wrong_bartlett(dim: int, steps: int, solution: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """A plausible mistake (chi²(dim) on every diagonal entry), to show the comparison below can fail."""
    lower = np.tril(rng.standard_normal((steps, steps)), k=-1) + np.diag(np.sqrt(rng.chisquare(dim, steps)))
    theta = np.vstack([np.zeros(steps), np.cumsum(lower, axis=0)])
    u = theta[solution] / np.linalg.norm(theta[solution])
    p = theta @ u
    return p, np.linalg.norm(theta - p[:, None] * u, axis=1)


def _ours(dim: int, steps: int, solution: int, seed: int):
    f = cmp.random_walk([dim], steps, solution, seed)
    return f["projection"].to_numpy(), f["residual"].to_numpy()


def _z_scores(a: list, b: list) -> np.ndarray:
    """Per-step z of the difference of two means over independent samples (rows: samples, columns: steps)."""
    a, b = np.array(a), np.array(b)
    se = np.sqrt(a.var(0, ddof=1) / len(a) + b.var(0, ddof=1) / len(b))
    return np.abs(a.mean(0) - b.mean(0)) / np.where(se > 0, se, np.inf)


@pytest.mark.parametrize("dim", [250, 2000])
def test_bartlett_sampler_matches_a_direct_simulation_in_distribution(dim):
    steps, solution, n = 200, 180, 40
    rng = np.random.default_rng(123)
    ours = [_ours(dim, steps, solution, seed) for seed in range(n)]
    direct = [_direct_walk(dim, steps, solution, rng) for _ in range(n)]
    wrong = [_wrong_bartlett(dim, steps, solution, rng) for _ in range(n)]
    cols = [20, 60, 90, 120, 150, 200]  # a few steps: before, around and after the middle, and past the solution
    for k in (0, 1):  # projection, residual
        z = _z_scores([o[k][cols] for o in ours], [d[k][cols] for d in direct])
        assert z.max() < 4.5, (k, z)
    z_max = _z_scores([[o[1].max()] for o in ours], [[d[1].max()] for d in direct])
    assert z_max.max() < 4.5
    if dim == 250:  # near steps the chi² degrees of freedom matter, and the test sees a wrong sampler
        assert _z_scores([w[1][cols] for w in wrong], [d[1][cols] for d in direct]).max() > 8


def test_small_dimensions_are_simulated_exactly():
    dim, steps, solution, seed = 7, 60, 50, 3
    p, r = _direct_walk(dim, steps, solution, np.random.default_rng([seed, dim]))
    frame = cmp.random_walk([dim], steps, solution, seed)
    np.testing.assert_allclose(frame["projection"], p, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(frame["residual"], r, rtol=1e-10, atol=1e-10)


def test_high_dimensional_walk_is_a_half_circle():
    d = 100_000
    frame = cmp.random_walk([d, 10_000], 1000, 900, seed=1)
    assert list(frame.columns) == ["dim", "step", "projection", "residual"]
    walk = frame[frame["dim"] == d].set_index("step")
    assert list(walk.index) == list(range(1001))
    norm = walk.loc[900, "projection"]  # = θ_900·u = ‖θ_900‖, and ‖θ_900‖² ~ 900·chi²(d)
    assert norm**2 / (900 * d) == pytest.approx(1.0, abs=5 * np.sqrt(2 / d))
    assert walk.loc[0, "projection"] == 0 and walk.loc[0, "residual"] == 0
    assert walk.loc[900, "residual"] < 1e-9 * norm
    top = walk["residual"].idxmax()
    assert 350 <= top <= 550  # largest mid-path: r_k² ≈ d·k(900 − k)/900, peak at k = 450
    assert walk["residual"].max() / norm == pytest.approx(0.5, abs=0.02)
    assert walk.loc[1000, "residual"] == pytest.approx(10 * np.sqrt(d), rel=0.1)  # back up past the solution
    summary = cmp.random_walk_summary(frame, 900)
    assert summary["ratio"].tolist() == pytest.approx([0.5, 0.5], abs=0.03)


def test_huge_dimension_needs_no_steps_by_dim_matrix():
    """Memory, not wall-clock time (which flakes on a busy machine): the time is bench/random_walk.py's."""
    tracemalloc.start()
    try:
        frame = cmp.random_walk([10**7], 1000, 900)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 80e6  # a 1000 x 10^7 float64 matrix would be 80 GB; the sampler needs a few 1000 x 1000 ones
    assert frame["residual"].max() / frame.loc[900, "projection"] == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("text, match", [("2,x", "whole numbers"), ("0", "from 1"), ("2.5", "whole number"),
                                         ("", "at least one")])
def test_parse_dims_refuses_bad_text(text, match):
    with pytest.raises(ValueError, match=match):
        cmp.parse_dims(text)


def test_random_walk_refuses_bad_steps():
    with pytest.raises(ValueError, match="solution step"):
        cmp.random_walk([2], 100, 101)
    with pytest.raises(ValueError, match="steps"):
        cmp.random_walk([2], 0, 1)
    assert cmp.parse_dims("2, 10,1e5,10") == [2, 10, 100_000]


# ---- convex problem ---------------------------------------------------------------------------------------------
SETTINGS = [(0.5, 0.0), (0.1, 0.9), (0.01, 0.99)]


@pytest.fixture(scope="module")
def convex():
    problem = cmp.convex_problem(2000, 100.0, seed=0)
    return problem, *cmp.convex_paths(problem, SETTINGS, 20_000)


def test_every_setting_ends_at_the_exact_solution(convex):
    problem, paths, summary = convex
    distance = np.linalg.norm(problem.theta_star - problem.theta_0)
    assert list(paths.columns) == ["setting", "step", "projection", "residual"]
    assert list(summary.columns) == ["setting", "lr", "momentum", "steps", "converged", "max_residual",
                                    "final_distance"]
    assert summary["converged"].all() and (summary["final_distance"] <= 1e-3 * distance).all()
    for row in summary.itertuples():
        part = paths[paths["setting"] == row.setting]
        assert part["step"].iloc[0] == 0 and part["step"].iloc[-1] == row.steps
        assert part["projection"].iloc[-1] == pytest.approx(distance, abs=1e-3 * distance)
        assert part["residual"].iloc[-1] <= 1e-3 * distance
        assert part["residual"].max() == row.max_residual  # the largest residual is always kept
        assert len(part) <= cmp.ROWS_PER_SETTING + 2
    assert problem.h.max() == 1.0 and problem.condition == pytest.approx(100.0)


def test_paths_match_torch_sgd_on_a_rotated_dense_problem():
    """Heavy ball = torch.optim.SGD(momentum=μ), run on Q·diag(h)·Qᵀ with θ_0, θ* rotated by Q: the projections and
    residuals (probes.straying over every stored iterate) are the diagonal problem's, as the docstring claims."""
    problem = cmp.convex_problem(40, 30.0, seed=2)
    q = torch.linalg.qr(torch.randn(40, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))[0]
    hess = q @ torch.diag(torch.from_numpy(problem.h)) @ q.T
    theta_0, theta_star = q @ torch.from_numpy(problem.theta_0), q @ torch.from_numpy(problem.theta_star)
    for lr, momentum in [(0.9, 0.0), (0.05, 0.9)]:
        paths, summary = cmp.convex_paths(problem, [(lr, momentum)], 5000)
        theta = theta_0.clone().requires_grad_(True)
        opt = torch.optim.SGD([theta], lr=lr, momentum=momentum)
        iterates = [theta.detach().clone()]
        for _ in range(int(summary["steps"].iloc[0])):
            opt.zero_grad()
            (0.5 * (theta - theta_star) @ hess @ (theta - theta_star)).backward()
            opt.step()
            iterates.append(theta.detach().clone())
        ref = straying(range(len(iterates)), torch.stack(iterates), theta_0, theta_star).set_index("step")
        rows = ref.loc[paths["step"]]
        scale = np.linalg.norm(problem.theta_0 - problem.theta_star)
        np.testing.assert_allclose(paths["projection"], rows["projection"], atol=1e-9 * scale)
        np.testing.assert_allclose(paths["residual"], rows["residual"], atol=1e-7 * scale)


def test_gradient_matches_autograd_and_the_line_to_the_solution_has_no_bump():
    problem = cmp.convex_problem(300, 50.0, seed=4)
    theta = np.random.default_rng(0).normal(size=300)
    t = torch.tensor(theta, requires_grad=True)
    h, star = torch.from_numpy(problem.h), torch.from_numpy(problem.theta_star)
    value = 0.5 * (h * (t - star) ** 2).sum()
    value.backward()
    np.testing.assert_allclose(problem.gradient(theta), t.grad.numpy(), rtol=1e-13)
    assert problem.value(theta) == pytest.approx(value.item(), rel=1e-13)
    alphas = np.linspace(0, 1, 101)
    j = np.array([problem.value((1 - a) * problem.theta_0 + a * problem.theta_star) for a in alphas])
    m = curve_metrics(alphas, j)
    assert m["monotone"] and m["max_bump"] == 0.0
    # convex: never above the chord, so no barrier (the old definition, max J - mean of the ends, gave J(θ_0)/2)
    assert (j <= (1 - alphas) * j[0] + alphas * j[-1] + 1e-12).all()
    assert m["barrier"] == pytest.approx(0.0, abs=1e-12)


def test_a_diverging_setting_is_reported_not_raised():
    problem = cmp.convex_problem(500, 100.0)
    paths, summary = cmp.convex_paths(problem, [(2.5, 0.0), (0.5, 0.0)], 20_000)
    bad, good = summary.iloc[0], summary.iloc[1]
    assert not bad["converged"] and bad["steps"] < 200
    assert not bad["final_distance"] <= 1e6 * np.linalg.norm(problem.theta_0 - problem.theta_star)
    assert good["converged"]
    assert np.isfinite(paths["residual"]).all()


def test_step_limit_stops_without_converging():
    _, summary = cmp.convex_paths(cmp.convex_problem(100, 100.0), [(0.01, 0.0)], 50)
    assert summary["steps"].item() == 50 and not summary["converged"].item()


@pytest.mark.parametrize("text, match", [("0.1", "ε:μ"), ("a:b", "ε:μ"), ("0:0.5", "> 0"), ("-1:0", "> 0"),
                                         ("0.1:1", r"\[0, 1\)"), ("0.1:-0.1", r"\[0, 1\)"), (" , ", "at least one")])
def test_parse_settings_refuses_bad_text(text, match):
    with pytest.raises(ValueError, match=match):
        cmp.parse_settings(text)


def test_parse_settings_and_labels():
    assert cmp.parse_settings("0.1:0, 0.1:0.9,0.01:0.99") == [(0.1, 0.0), (0.1, 0.9), (0.01, 0.99)]
    assert cmp.setting_label(0.1, 0.0) == "ε=0.1, μ=0"
    with pytest.raises(ValueError, match="condition"):
        cmp.convex_problem(10, 0.5)


# ---- charts -----------------------------------------------------------------------------------------------------
def test_random_walk_chart_draws_every_step_in_a_panel_per_dimension():
    frame = cmp.random_walk([2, 10, 100_000], 1000, 900)
    spec = cc.random_walk_chart(frame, 900).to_dict()
    assert [panel["title"] for panel in spec["concat"]] == ["d = 2", "d = 10", "d = 100,000"]
    assert spec["resolve"]["scale"]["x"] == "independent" and spec["resolve"]["scale"]["y"] == "independent"
    for panel, dim in zip(spec["concat"], (2, 10, 100_000)):
        rows = spec["datasets"][panel["data"]["name"]]
        assert len(rows) == 1001 and {row["dim"] for row in rows} == {dim}  # every step, one dimension
        layers = panel["layer"]
        assert any("900" in str(layer.get("transform")) for layer in layers)  # the solution step is marked
        tips = {t["field"] for layer in layers if "tooltip" in layer["encoding"]
                for t in layer["encoding"]["tooltip"]}
        assert tips == {"dim", "step", "projection", "residual"}


def test_convex_paths_chart_has_one_colour_per_setting(convex):
    _, paths, _ = convex
    spec = cc.convex_paths_chart(paths).to_dict()
    data = spec["datasets"][spec["data"]["name"]]
    assert {row["setting"] for row in data} == set(paths["setting"])
    assert len(data) <= len(SETTINGS) * (cc.PATH_ROWS + 2)
    assert max(row["residual"] for row in data) == paths["residual"].max()  # thinning keeps each peak
    enc = spec["layer"][0]["encoding"]
    assert enc["x"]["title"] == "projection on θ_0 → θ*" and enc["y"]["title"] == "residual norm"
    assert enc["color"]["field"] == "setting" and "tooltip" in enc
