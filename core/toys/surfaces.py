"""Analytic 2-D surfaces for racing optimizers (definitions §5, §6; Deep Learning §8.2).

Every surface is a torch function f(p) of points p (..., 2) -> (...), so autograd can check it, with its
gradient (..., 2) and Hessian (..., 2, 2) written out by hand, a default start, a plot window, a caption of what
it teaches, and its known minima and saddles. SURFACES maps a name to a constructor; `make` validates.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import torch

Point = tuple[float, float]
GRID_SIDE = 61  # grid lines per side of the heat map (61² cells, under Altair's 5,000 rows)
CRITICAL_TOL = 1e-5  # ‖g‖ below this counts as a critical point


@dataclass(frozen=True)
class Surface:
    name: str
    title: str  # the formula, for chart titles
    caption: str  # one line: what it teaches
    f: Callable[[torch.Tensor], torch.Tensor]  # (..., 2) -> (...)
    grad: Callable[[torch.Tensor], torch.Tensor]  # (..., 2) -> (..., 2), analytic
    hessian: Callable[[torch.Tensor], torch.Tensor]  # (..., 2) -> (..., 2, 2), analytic
    start: Point  # default start of a race
    window: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max
    minima: tuple[Point, ...] = ()  # known minima (for the hyperbola of deep linear: a few of its points)
    saddles: tuple[Point, ...] = ()
    maxima: tuple[Point, ...] = ()
    log_color: bool = False  # colour the heat map on a symlog scale
    lrs: dict = field(default_factory=dict)  # default learning rate per first-order optimizer kind
    steps: int = 200  # default number of steps
    racers: tuple[str, ...] = ("sgd", "momentum", "adam")  # optimizer kinds raced by default


def _xy(p: torch.Tensor):
    return p[..., 0], p[..., 1]


def _vec(a, b) -> torch.Tensor:
    a, b = torch.broadcast_tensors(torch.as_tensor(a), torch.as_tensor(b))
    return torch.stack([a, b], -1)


def _const(v: float, p: torch.Tensor) -> torch.Tensor:
    return torch.full(p.shape[:-1], v, dtype=p.dtype)


def _sym(a, b, c) -> torch.Tensor:
    """[[a, b], [b, c]] over broadcast batches: (..., 2, 2)."""
    a, b, c = torch.broadcast_tensors(torch.as_tensor(a), torch.as_tensor(b), torch.as_tensor(c))
    return torch.stack([torch.stack([a, b], -1), torch.stack([b, c], -1)], -2)


def bowl(condition: float = 10.0, angle: float = 30.0) -> Surface:
    """f = ½ pᵀAp with A = R diag(1, 1/condition) Rᵀ, R a rotation by `angle` degrees."""
    if not 1.0 <= condition <= 1e4:
        raise ValueError(f"the condition number must be from 1 to 10,000, got {condition:g}.")
    t = math.radians(angle)
    c, s, low = math.cos(t), math.sin(t), 1.0 / condition
    a11, a12, a22 = c * c + low * s * s, (1.0 - low) * c * s, s * s + low * c * c

    def f(p):
        x, y = _xy(p)
        return 0.5 * (a11 * x * x + 2 * a12 * x * y + a22 * y * y)

    def grad(p):
        x, y = _xy(p)
        return _vec(a11 * x + a12 * y, a12 * x + a22 * y)

    def hessian(p):
        return _sym(_const(a11, p), _const(a12, p), _const(a22, p))

    return Surface("bowl", f"½ pᵀAp, condition {condition:g}, axes turned {angle:g}°",
                   "Ill-conditioning: plain gradient descent zigzags across the narrow valley and crawls along it; "
                   "momentum and Newton do not.", f, grad, hessian, (-2.5, 1.5), (-3.0, 3.0, -3.0, 3.0),
                   minima=((0.0, 0.0),), lrs={"sgd": 1.5, "momentum": 0.3, "nesterov": 0.3, "adam": 0.3}, steps=100,
                   racers=("sgd", "momentum", "newton"))


def saddle() -> Surface:
    return Surface("saddle", "x² − y²", "A saddle: undamped Newton jumps straight onto it, gradient descent and "
                   "saddle-free Newton slide off along −y² (§8.2.3).",
                   lambda p: p[..., 0] ** 2 - p[..., 1] ** 2,
                   lambda p: _vec(2 * p[..., 0], -2 * p[..., 1]),
                   lambda p: _sym(_const(2.0, p), _const(0.0, p), _const(-2.0, p)),
                   (-1.5, 0.1), (-2.0, 2.0, -2.0, 2.0), saddles=((0.0, 0.0),),
                   lrs={"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adam": 0.05}, steps=40,
                   racers=("sgd", "newton", "saddle-free"))


def monkey_saddle() -> Surface:
    def hessian(p):
        x, y = _xy(p)
        return _sym(6 * x, -6 * y, -6 * x)

    return Surface("monkey_saddle", "x³ − 3xy²", "A monkey saddle: three valleys go down and the Hessian vanishes at "
                   "the centre, so second-order information says nothing there and Newton halves its way in.",
                   lambda p: p[..., 0] ** 3 - 3 * p[..., 0] * p[..., 1] ** 2,
                   lambda p: _vec(3 * p[..., 0] ** 2 - 3 * p[..., 1] ** 2, -6 * p[..., 0] * p[..., 1]),
                   hessian, (0.9, 0.35), (-1.5, 1.5, -1.5, 1.5), saddles=((0.0, 0.0),),
                   lrs={"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "adam": 0.02}, steps=80,
                   racers=("sgd", "newton", "saddle-free"))


def rosenbrock() -> Surface:
    def hessian(p):
        x, y = _xy(p)
        return _sym(2 - 400 * y + 1200 * x * x, -400 * x, torch.full_like(x, 200.0))

    return Surface("rosenbrock", "(1 − x)² + 100 (y − x²)²", "A long curved valley: finding it is easy, following "
                   "it to the minimum at (1, 1) is slow without momentum or curvature.",
                   lambda p: (1 - p[..., 0]) ** 2 + 100 * (p[..., 1] - p[..., 0] ** 2) ** 2,
                   lambda p: _vec(-2 * (1 - p[..., 0]) - 400 * p[..., 0] * (p[..., 1] - p[..., 0] ** 2),
                                  200 * (p[..., 1] - p[..., 0] ** 2)),
                   hessian, (-1.2, 1.0), (-2.0, 2.0, -1.0, 3.0), minima=((1.0, 1.0),), log_color=True,
                   lrs={"sgd": 1.5e-3, "momentum": 1e-3, "nesterov": 1e-3, "adam": 0.1}, steps=1000,
                   racers=("momentum", "adam", "newton"))


def rastrigin() -> Surface:
    tau = 2 * math.pi

    def f(p):
        return 20 + (p * p - 10 * torch.cos(tau * p)).sum(-1)

    def hessian(p):
        d = 2 + 10 * tau * tau * torch.cos(tau * p)
        return _sym(d[..., 0], torch.zeros_like(d[..., 0]), d[..., 1])

    return Surface("rastrigin", "20 + Σ (xᵢ² − 10 cos 2πxᵢ)", "Many local minima on a bowl: where you end depends "
                   "on where you start. Random restarts find the global minimum at (0, 0) some of the time.",
                   f, lambda p: 2 * p + 10 * tau * torch.sin(tau * p), hessian, (3.2, 2.4), (-5.12, 5.12, -5.12, 5.12),
                   minima=((0.0, 0.0),), lrs={"sgd": 2e-3, "momentum": 1e-3, "nesterov": 1e-3, "adam": 0.1}, steps=300)


HIMMELBLAU_MINIMA = ((3.0, 2.0), (-2.805118086952745, 3.131312518250573), (-3.779310253377747, -3.283185991286169),
                     (3.584428340330492, -1.848126526964404))
HIMMELBLAU_SADDLES = ((0.08667750455539634, 2.884254701174776), (-3.0730257507643897, -0.08135304428796751),
                      (3.385154183607021, 0.07385187983774928), (-0.12796134673068005, -1.9537149802445766))


def himmelblau() -> Surface:
    def f(p):
        x, y = _xy(p)
        return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2

    def grad(p):
        x, y = _xy(p)
        a, b = x * x + y - 11, x + y * y - 7
        return _vec(4 * x * a + 2 * b, 2 * a + 4 * y * b)

    def hessian(p):
        x, y = _xy(p)
        return _sym(12 * x * x + 4 * y - 42, 4 * x + 4 * y, 4 * x + 12 * y * y - 26)

    return Surface("himmelblau", "(x² + y − 11)² + (x + y² − 7)²", "Four minima of equal value (0), a maximum and four "
                   "saddles: the start decides which minimum you reach, and all of them are equally good.",
                   f, grad, hessian, (-0.3, -0.9), (-5.0, 5.0, -5.0, 5.0), minima=HIMMELBLAU_MINIMA,
                   saddles=HIMMELBLAU_SADDLES, maxima=((-0.2708445906673476, -0.9230385564799813),), log_color=True,
                   lrs={"sgd": 0.01, "momentum": 2e-3, "nesterov": 2e-3, "adam": 0.1}, steps=200,
                   racers=("sgd", "adam", "newton"))


CLIFF = {"height": 200.0, "width": 1.0, "sharpness": 20.0, "bowl": 0.2}  # face: slope height/width over x in ±½


def cliff() -> Surface:
    """A gentle bowl around (−2, 0) plus a wall of height 200 that rises over x ∈ [−½, ½] (slope 200)."""
    h, w, k, c = CLIFF["height"], CLIFF["width"], CLIFF["sharpness"], CLIFF["bowl"]

    def f(p):
        x, y = _xy(p)
        sp = torch.nn.functional.softplus
        return c * ((x + 2) ** 2 + y * y) + h / (k * w) * (sp(k * (x + w / 2)) - sp(k * (x - w / 2)))

    def grad(p):
        x, y = _xy(p)
        return _vec(2 * c * (x + 2) + h / w * (torch.sigmoid(k * (x + w / 2)) - torch.sigmoid(k * (x - w / 2))),
                    2 * c * y)

    def hessian(p):
        x, y = _xy(p)
        s1, s2 = torch.sigmoid(k * (x + w / 2)), torch.sigmoid(k * (x - w / 2))
        return _sym(2 * c + h * k / w * (s1 * (1 - s1) - s2 * (1 - s2)), torch.zeros_like(x), torch.full_like(x, 2 * c))

    return Surface("cliff", "a bowl around (−2, 0) below a wall 200 high", "A cliff (§8.2.4): on its face the gradient "
                   "is huge and one unclipped step throws the point far away; clipping the gradient's norm walks it "
                   "down.", f, grad, hessian, (3.0, 2.0), (-4.0, 4.0, -3.0, 3.0), minima=((-2.0, 0.0),),
                   log_color=True, lrs={"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adam": 0.1}, steps=150,
                   racers=("sgd", "adam"))


def plateau() -> Surface:
    """f = 1 − exp(−‖p‖²/2): a well in a plain whose gradient shrinks like exp(−r²/2)."""
    def f(p):
        return 1 - torch.exp(-0.5 * (p * p).sum(-1))

    def grad(p):
        return p * torch.exp(-0.5 * (p * p).sum(-1))[..., None]

    def hessian(p):
        x, y = _xy(p)
        e = torch.exp(-0.5 * (x * x + y * y))
        return _sym(e * (1 - x * x), -e * x * y, e * (1 - y * y))

    return Surface("plateau", "1 − exp(−(x² + y²)/2)", "A plateau: far from the well the gradient is tiny, so gradient "
                   "descent barely moves; momentum builds up speed and Adam rescales the small gradient.",
                   f, grad, hessian, (3.5, 2.0), (-4.0, 4.0, -4.0, 4.0), minima=((0.0, 0.0),),
                   lrs={"sgd": 1.0, "momentum": 0.5, "nesterov": 0.5, "adam": 0.1}, steps=300)


def deep_linear() -> Surface:
    def f(p):
        return (p[..., 0] * p[..., 1] - 1) ** 2

    def grad(p):
        x, y = _xy(p)
        r = 2 * (x * y - 1)
        return _vec(r * y, r * x)

    def hessian(p):
        x, y = _xy(p)
        return _sym(2 * y * y, 2 * (2 * x * y - 1), 2 * x * x)

    return Surface("deep_linear", "(w₁w₂ − 1)²", "The deep-linear network (paper §5): a saddle at the origin and a "
                   "hyperbola of minima; Newton is drawn to the saddle, gradient descent escapes it slowly.",
                   f, grad, hessian, (0.4, -0.25), (-2.5, 2.5, -2.5, 2.5),
                   minima=((1.0, 1.0), (-1.0, -1.0), (2.0, 0.5), (-0.5, -2.0)), saddles=((0.0, 0.0),),
                   lrs={"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adam": 0.05}, steps=100,
                   racers=("sgd", "newton", "saddle-free"))


SURFACES: dict[str, Callable[..., Surface]] = {
    "rosenbrock": rosenbrock, "bowl": bowl, "saddle": saddle, "monkey_saddle": monkey_saddle, "rastrigin": rastrigin,
    "himmelblau": himmelblau, "cliff": cliff, "plateau": plateau, "deep_linear": deep_linear,
}
LABELS = {"rosenbrock": "Rosenbrock", "bowl": "Quadratic bowl", "saddle": "Saddle x² − y²",
          "monkey_saddle": "Monkey saddle", "rastrigin": "Rastrigin", "himmelblau": "Himmelblau", "cliff": "Cliff",
          "plateau": "Plateau", "deep_linear": "Deep linear (w₁w₂ − 1)²"}
MULTI_MINIMA = ("himmelblau", "rastrigin")  # where random restarts make a point


def make(name: str, condition: float = 10.0, angle: float = 30.0) -> Surface:
    """The surface called `name`; condition and angle only shape the bowl."""
    if name not in SURFACES:
        raise ValueError(f"unknown surface '{name}'; choose one of {', '.join(SURFACES)}.")
    return bowl(condition, angle) if name == "bowl" else SURFACES[name]()


def value(surface: Surface, point) -> float:
    """f at one point, as a float."""
    return float(surface.f(torch.as_tensor(point, dtype=torch.float64)))


def grid(surface: Surface, side: int = GRID_SIDE) -> pd.DataFrame:
    """x, y, f at the centres of a side × side grid of cells covering the window."""
    x0, x1, y0, y1 = surface.window
    dx, dy = (x1 - x0) / side, (y1 - y0) / side
    xs = torch.linspace(x0 + dx / 2, x1 - dx / 2, side, dtype=torch.float64)
    ys = torch.linspace(y0 + dy / 2, y1 - dy / 2, side, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    values = surface.f(torch.stack([gx, gy], -1))
    return pd.DataFrame({"x": gx.reshape(-1).numpy(), "y": gy.reshape(-1).numpy(), "f": values.reshape(-1).numpy()})
