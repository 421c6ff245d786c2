"""The analytic surfaces (core/surfaces.py): hand-written gradients and Hessians against autograd, known critical
points, and the readout's classification."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.func import grad as fgrad
from torch.func import hessian

from core.toys import landmarks as lm
from core.toys import surfaces as sf

CASES = [(name, {}) for name in sf.SURFACES if name != "bowl"] + [
    ("bowl", {"condition": 10.0, "angle": 30.0}), ("bowl", {"condition": 1000.0, "angle": -75.0}),
    ("bowl", {"condition": 1.0, "angle": 0.0})]


def _points(surface: sf.Surface, n: int = 6, seed: int = 0) -> torch.Tensor:
    """n points spread over the window, plus the default start."""
    x0, x1, y0, y1 = surface.window
    u = torch.rand(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    pts = torch.stack([x0 + (x1 - x0) * u[:, 0], y0 + (y1 - y0) * u[:, 1]], 1)
    return torch.cat([pts, torch.tensor([surface.start], dtype=torch.float64)])


@pytest.mark.parametrize(("name", "params"), CASES, ids=lambda v: str(v))
def test_gradient_and_hessian_match_autograd(name, params):
    surface = sf.make(name, **params)
    f = lambda p: surface.f(p)  # noqa: E731  scalar function of one (2,) point
    for p in _points(surface):
        torch.testing.assert_close(surface.grad(p), fgrad(f)(p), rtol=1e-8, atol=1e-8)  # cliff: softplus cancels
        torch.testing.assert_close(surface.hessian(p), hessian(f)(p), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize(("name", "params"), CASES[:3], ids=lambda v: str(v))
def test_batched_evaluation_matches_point_by_point(name, params):
    surface = sf.make(name, **params)
    pts = _points(surface).reshape(7, 1, 2).expand(7, 3, 2)  # (7, 3, 2)
    assert surface.f(pts).shape == (7, 3) and surface.hessian(pts).shape == (7, 3, 2, 2)
    torch.testing.assert_close(surface.grad(pts)[:, 1], torch.stack([surface.grad(p) for p in pts[:, 0]]))


@pytest.mark.parametrize("name", list(sf.SURFACES))
def test_known_minima_have_zero_gradient_and_psd_hessian(name):
    surface = sf.make(name)
    f = lambda p: surface.f(p)  # noqa: E731
    for point in surface.minima:
        p = torch.tensor(point, dtype=torch.float64)
        assert float(fgrad(f)(p).norm()) < 1e-8, point
        assert float(torch.linalg.eigvalsh(hessian(f)(p)).min()) > -1e-8, point
    for point in surface.saddles:
        p = torch.tensor(point, dtype=torch.float64)
        ev = torch.linalg.eigvalsh(hessian(f)(p))
        assert float(fgrad(f)(p).norm()) < 1e-8
        assert (ev[0] < 0 < ev[1]) or bool((ev.abs() < 1e-12).all())  # a saddle, or the monkey saddle's zero H
    for point in surface.maxima:
        p = torch.tensor(point, dtype=torch.float64)
        assert float(fgrad(f)(p).norm()) < 1e-8 and float(torch.linalg.eigvalsh(hessian(f)(p)).max()) < 0


def test_himmelblau_minima_are_the_published_ones():
    published = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
    np.testing.assert_allclose(sf.himmelblau().minima, published, atol=1e-6)


def test_bowl_has_the_asked_condition_number_and_rotation():
    surface = sf.bowl(condition=50.0, angle=30.0)
    ev, vecs = torch.linalg.eigh(surface.hessian(torch.zeros(2, dtype=torch.float64)))
    np.testing.assert_allclose(ev.numpy(), [1 / 50, 1.0], rtol=1e-12)
    steep = vecs[:, 1].numpy()  # the eigenvalue-1 axis is the x axis turned by 30 degrees
    t = math.radians(30.0)
    assert abs(abs(steep @ np.array([math.cos(t), math.sin(t)])) - 1) < 1e-12


def test_cliff_face_is_steep_and_the_plateau_is_flat():
    cliff, plateau = sf.cliff(), sf.plateau()
    face = torch.tensor([0.0, 0.0], dtype=torch.float64)
    assert float(cliff.grad(face).norm()) > 150  # slope height/width = 200 on the face
    assert float(cliff.grad(torch.tensor([2.5, 1.0], dtype=torch.float64)).norm()) < 2.5
    far = torch.tensor(plateau.start, dtype=torch.float64)
    r2 = float(far @ far)
    assert float(plateau.grad(far).norm()) == pytest.approx(math.sqrt(r2) * math.exp(-r2 / 2), rel=1e-12)
    assert float(plateau.grad(far).norm()) < 1e-2


@pytest.mark.parametrize(("eigenvalues", "kind"), [((1.0, 2.0), "minimum"), ((-3.0, -0.5), "maximum"),
                                                    ((-2.0, 2.0), "saddle"), ((0.0, 4.0), "degenerate"),
                                                    ((0.0, 0.0), "degenerate"), ((-1e-20, 5.0), "degenerate")])
def test_classify(eigenvalues, kind):
    assert lm.classify(eigenvalues) == kind


def test_readouts_at_known_points():
    r = lm.readout(sf.saddle(), (0.0, 0.0))
    assert r.critical and r.kind == "saddle" and r.eigenvalues == (-2.0, 2.0)
    r = lm.readout(sf.monkey_saddle(), (0.0, 0.0))
    assert r.critical and r.kind == "degenerate"
    r = lm.readout(sf.deep_linear(), (1.0, 1.0))  # H = [[2, 2], [2, 2]]: eigenvalues 0 and 4
    assert r.critical and r.kind == "degenerate" and r.eigenvalues == pytest.approx((0.0, 4.0), abs=1e-12)
    r = lm.readout(sf.deep_linear(), (0.0, 0.0))
    assert r.critical and r.kind == "saddle"
    r = lm.readout(sf.himmelblau(), sf.himmelblau().maxima[0])
    assert r.critical and r.kind == "maximum"
    r = lm.readout(sf.rosenbrock(), (-1.2, 1.0))  # ∇f = (−215.6, −88) in closed form
    assert not r.critical and r.grad == pytest.approx((-215.6, -88.0)) and r.kind == "minimum"


def test_grid_covers_the_window_with_cell_centres():
    surface = sf.rosenbrock()
    grid = sf.grid(surface, 11)
    x0, x1, y0, y1 = surface.window
    assert len(grid) == 121
    assert grid["x"].min() == pytest.approx(x0 + (x1 - x0) / 22)
    assert grid["y"].max() == pytest.approx(y1 - (y1 - y0) / 22)
    expected = (1 - grid["x"]) ** 2 + 100 * (grid["y"] - grid["x"] ** 2) ** 2
    np.testing.assert_allclose(grid["f"], expected, rtol=1e-12)


def test_landmarks_list_the_points_inside_the_window():
    marks = lm.landmarks(sf.himmelblau())
    assert sorted(marks["kind"].value_counts().items()) == [("maximum", 1), ("minimum", 4), ("saddle", 4)]
    assert (marks.loc[marks["kind"] == "minimum", "f"].abs() < 1e-20).all()


def test_bad_surface_settings_are_value_errors():
    with pytest.raises(ValueError, match="unknown surface 'nope'"):
        sf.make("nope")
    with pytest.raises(ValueError, match="condition number"):
        sf.make("bowl", condition=0.5)
