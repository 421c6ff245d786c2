"""The synthetic comparators of the straying plot (definitions §3, paper app. B): a random walk, a convex quadratic."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_WALK_STEPS = 4_000  # the sampler holds a (steps+1, steps) float64 matrix; a chart panel draws steps+1 rows
MAX_DIM = 10**9
ROWS_PER_SETTING = 2_000  # convex path rows kept per setting (first, last and the largest residual always)
DEFAULT_SETTINGS = "1:0,0.1:0,0.1:0.9,0.01:0.99"  # ε:μ pairs of the convex comparator; ε < 2 is stable (max h = 1)
DIVERGED = 1e6  # a setting whose distance to θ* grows beyond this many start distances has diverged


def _walk_positions(dim: int, steps: int, rng: np.random.Generator) -> np.ndarray:
    """θ_0..θ_steps of a Gaussian random walk in R^dim, isometrically embedded in R^min(dim, steps): (steps+1, ·)."""
    if dim >= steps:
        # Bartlett: the Gram matrix X Xᵀ of the steps (rows of X, steps × dim) is Wishart(dim, I_steps) and equals
        # L Lᵀ with L lower-triangular, L_ii = sqrt(chi²(dim − i + 1)), L_ij ~ N(0, 1) below the diagonal. So X = L Q
        # with orthonormal rows Q, and the rows of L are the same steps in a rotated frame.
        lower = np.tril(rng.standard_normal((steps, steps)), k=-1)
        lower[np.diag_indices(steps)] = np.sqrt(rng.chisquare(dim - np.arange(steps)))
        increments = lower
    else:
        increments = rng.standard_normal((steps, dim))  # (steps, dim), no bigger than steps²
    positions = np.zeros((steps + 1, increments.shape[1]))
    np.cumsum(increments, axis=0, out=positions[1:])
    return positions


def _project(positions: np.ndarray, axis: np.ndarray, rows: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Projection on the unit vector `axis` and residual norm ‖x − (x·u)u‖₂ (not squared) of each row, in chunks."""
    projection = positions @ axis
    residual = np.empty(len(positions))
    for start in range(0, len(positions), rows):
        block = positions[start : start + rows] - np.outer(projection[start : start + rows], axis)
        residual[start : start + rows] = np.linalg.norm(block, axis=1)
    return projection, residual


def parse_dims(text: str) -> list[int]:
    """'2,10,1e5' -> [2, 10, 100000]: comma-separated whole numbers from 1 to MAX_DIM, repeats dropped."""
    dims = []
    for item in (part.strip().replace("_", "") for part in str(text).split(",")):
        if not item:
            continue
        try:
            value = float(item)
        except ValueError:
            raise ValueError(f"dimensions are whole numbers separated by commas, e.g. 2,10; got '{item}'.") from None
        if not (np.isfinite(value) and value.is_integer() and 1 <= value <= MAX_DIM):
            raise ValueError(f"each dimension must be a whole number from 1 to {MAX_DIM:,}, got '{item}'.")
        dims.append(int(value))
    if not dims:
        raise ValueError("give at least one dimension, for example 2,10,100.")
    return list(dict.fromkeys(dims))


def random_walk(dims: list[int], steps: int = 1000, solution_step: int = 900, seed: int = 0) -> pd.DataFrame:
    """Projection on the axis θ_0 → θ_solution and residual norm of a Gaussian random walk (paper Fig. 11).

    θ_0 = 0, θ_{k+1} = θ_k + N(0, I_d); u = θ_solution / ‖θ_solution‖, p_k = θ_k·u, r_k = ‖θ_k − p_k u‖₂.
    Columns: dim, step, projection, residual; steps 0..steps for every dim, in float64.

    Both quantities depend on the walk only through the Gram matrix of its steps, so for d ≥ steps the steps are
    drawn in R^steps from the Bartlett factor of a Wishart(d, I_steps) matrix: exactly the joint distribution of the
    d-dimensional walk at O(steps²) time and memory whatever d is (no steps × d matrix). For d < steps the walk is
    simulated directly. Each dim has its own stream, seeded by (seed, dim).
    """
    dims = [int(d) for d in dims]
    if not dims or any(d < 1 or d > MAX_DIM for d in dims):
        raise ValueError(f"every dimension must be a whole number from 1 to {MAX_DIM:,}, got {dims}.")
    if not 1 <= steps <= MAX_WALK_STEPS:
        raise ValueError(f"the number of steps must be from 1 to {MAX_WALK_STEPS:,}, got {steps}.")
    if not 1 <= solution_step <= steps:
        raise ValueError(f"the solution step must be from 1 to the number of steps ({steps}), got {solution_step}.")
    parts = []
    for dim in dims:
        positions = _walk_positions(dim, steps, np.random.default_rng([seed, dim]))
        solution = positions[solution_step]
        projection, residual = _project(positions, solution / np.linalg.norm(solution))
        parts.append(pd.DataFrame({"dim": dim, "step": np.arange(steps + 1), "projection": projection,
                                   "residual": residual}))
    return pd.concat(parts, ignore_index=True)


def random_walk_summary(frame: pd.DataFrame, solution_step: int) -> pd.DataFrame:
    """Per dim: max residual, its step, ‖θ_solution‖ and their ratio (→ 1/2 as d grows: the path is a half circle)."""
    rows = []
    for dim, part in frame.groupby("dim", sort=False):
        k = int(part["residual"].to_numpy().argmax())
        norm = float(part.loc[part["step"] == solution_step, "projection"].iloc[0])
        top = float(part["residual"].iloc[k])
        rows.append({"dim": dim, "max_residual": top, "max_residual_step": int(part["step"].iloc[k]),
                     "solution_norm": norm, "ratio": top / norm})
    return pd.DataFrame(rows)


@dataclass(frozen=True, eq=False)
class ConvexProblem:
    """f(θ) = ½ Σ h_i (θ_i − θ*_i)², a diagonal quadratic with a known minimum θ*."""

    h: np.ndarray  # (dim,) curvatures, log-spaced from 1/condition to 1
    theta_star: np.ndarray  # (dim,) the exact solution
    theta_0: np.ndarray  # (dim,) the common start
    condition: float  # h.max() / h.min()

    def value(self, theta: np.ndarray) -> float:
        return float(0.5 * np.dot(self.h, (theta - self.theta_star) ** 2))

    def gradient(self, theta: np.ndarray) -> np.ndarray:
        return self.h * (theta - self.theta_star)


def convex_problem(dim: int, condition: float = 100.0, seed: int = 0) -> ConvexProblem:
    """A dim-dimensional convex quadratic with curvatures from 1/condition to exactly 1 and random θ*, θ_0.

    A diagonal Hessian loses no generality: H = Q Λ Qᵀ, and heavy-ball descent commutes with the rotation Qᵀ, which
    keeps every inner product, so projection and residual are the same in the eigenbasis; and θ_0 − θ* ~ N(0, 2I) is
    rotation invariant, so a random start in the rotated problem is a random start in the diagonal one.
    The largest curvature is 1, so any ε < 2 is stable without momentum.
    """
    if not 1 <= dim <= 10**7:
        raise ValueError(f"the dimension must be a whole number from 1 to 10,000,000, got {dim}.")
    if not (np.isfinite(condition) and 1 <= condition <= 1e8):
        raise ValueError(f"the condition number must be from 1 to 1e8, got {condition}.")
    rng = np.random.default_rng(seed)
    h = np.logspace(-np.log10(condition), 0.0, dim) if dim > 1 else np.ones(1)
    h[-1] = 1.0
    return ConvexProblem(h=h, theta_star=rng.standard_normal(dim), theta_0=rng.standard_normal(dim),
                         condition=float(h.max() / h.min()))


def parse_settings(text: str) -> list[tuple[float, float]]:
    """'0.1:0,0.1:0.9' -> [(0.1, 0.0), (0.1, 0.9)]: learning rate ε > 0 and momentum μ in [0, 1) pairs."""
    settings = []
    for item in (part.strip() for part in str(text).split(",")):
        if not item:
            continue
        try:
            lr, momentum = (float(v) for v in item.split(":"))
        except ValueError:
            raise ValueError(f"write each setting as ε:μ, for example 0.1:0.9; could not read '{item}'.") from None
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"the learning rate ε must be > 0, got {lr:g} in '{item}'.")
        if not 0 <= momentum < 1:
            raise ValueError(f"the momentum μ must be in [0, 1), got {momentum:g} in '{item}'.")
        settings.append((lr, momentum))
    if not settings:
        raise ValueError("give at least one ε:μ setting, for example 0.1:0,0.1:0.9.")
    return settings


def setting_label(lr: float, momentum: float) -> str:
    return f"ε={lr:g}, μ={momentum:g}"


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """a·b without BLAS: a threaded BLAS dot of one vector per step crawls when torch's OpenMP threads share the
    cores (about 40x slower on a busy 2-core machine)."""
    return float(np.einsum("i,i->", a, b))


def _descend(problem: ConvexProblem, lr: float, momentum: float, max_steps: int, tol: float):
    """Heavy ball from θ_0; (projections, residuals, final distance, converged), O(dim) memory."""
    e = problem.theta_0 - problem.theta_star  # (dim,) the error θ − θ*
    start = float(np.sqrt(_dot(e, e)))
    u = -e / start if start > 0 else np.zeros_like(e)  # the axis θ_0 → θ*
    v, g = np.zeros_like(e), np.empty_like(e)
    projections, residuals, dist = [0.0], [0.0], start
    for _ in range(max_steps):
        if dist <= tol * start:
            break
        np.multiply(problem.h, e, out=g)
        g *= lr
        v *= momentum
        v -= g
        e += v
        ee, eu = _dot(e, e), _dot(e, u)
        dist = float(np.sqrt(ee))
        if not np.isfinite(dist):
            break
        # θ − θ_0 − p·u = e − (e·u)u; the shortcut ‖e‖² − (e·u)² is used only where it cannot cancel
        r2 = ee - eu * eu
        if r2 <= 1e-4 * ee:
            off = e - eu * u  # (dim,)
            r2 = _dot(off, off)
        projections.append(eu + start)
        residuals.append(float(np.sqrt(r2)))
        if dist > DIVERGED * start:
            break
    return np.array(projections), np.array(residuals), dist, bool(dist <= tol * start)


def _thin(n: int, keep: int, limit: int) -> np.ndarray:
    """At most about `limit` evenly spaced indices of range(n), always with 0, n − 1 and `keep`."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.append(np.linspace(0, n - 1, limit).round().astype(int), keep))


def convex_paths(problem: ConvexProblem, settings: list[tuple[float, float]], max_steps: int = 20_000,
                 tol: float = 1e-3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Heavy-ball descent v ← μv − ε∇f, θ ← θ + v from θ_0 for each (ε, μ), projected on the axis θ_0 → θ* (Fig. 12).

    A setting stops when ‖θ − θ*‖ ≤ tol·‖θ_0 − θ*‖, at max_steps, or when it diverges (non-finite, or farther than
    1e6 start distances; reported as not converged). Only the current iterate is kept (O(dim) memory).
    Returns (paths, summary). paths: setting, step, projection, residual, every step up to ROWS_PER_SETTING rows per
    setting, else thinned evenly keeping the first, the last and the largest residual. summary, one row per setting:
    setting, lr, momentum, steps, converged, max_residual (over every step), final_distance.
    """
    if not 1 <= max_steps <= 10**6:
        raise ValueError(f"the step limit must be from 1 to 1,000,000, got {max_steps}.")
    if not 0 < tol < 1:
        raise ValueError(f"the tolerance must be in (0, 1), got {tol:g}.")
    paths, summary = [], []
    for lr, momentum in settings:
        label = setting_label(lr, momentum)
        projection, residual, dist, converged = _descend(problem, lr, momentum, max_steps, tol)
        keep = _thin(len(residual), int(residual.argmax()), ROWS_PER_SETTING)
        paths.append(pd.DataFrame({"setting": label, "step": keep, "projection": projection[keep],
                                   "residual": residual[keep]}))
        summary.append({"setting": label, "lr": lr, "momentum": momentum, "steps": len(residual) - 1,
                        "converged": converged, "max_residual": float(residual.max()), "final_distance": dist})
    return pd.concat(paths, ignore_index=True), pd.DataFrame(summary)
