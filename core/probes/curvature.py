"""Curvature of a loss J(θ) without building its Hessian (definitions §1, §6; Deep Learning §8.2.1, §8.2.3).

Everything takes `loss`, a pure function θ (P,) -> scalar (for a network: models.loss_fn on one batch), so that
it can be differentiated twice. A Hessian-vector product is reverse-over-reverse (the gradient of gᵀv), about the
cost of one extra backward pass; on a CPU it measured 2x faster than forward-over-reverse (torch.func.jvp).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from core.model.networks import check_exact_hessian

ZERO_TOL = 1e-4  # relative: |λ| <= ZERO_TOL * max|λ| is in the near-zero bulk (definitions §6)
NEGATIVE_TOL = 1e-2  # relative: λ < -NEGATIVE_TOL * max|λ| is a direction of negative curvature, for the index


def hvp(loss, theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """H(θ) v, the Hessian of loss at θ times v: the gradient of g(θ)ᵀv."""
    with torch.enable_grad():
        t = theta.detach().requires_grad_()
        g = torch.autograd.grad(loss(t), t, create_graph=True)[0]
        return torch.autograd.grad(g, t, grad_outputs=v.detach())[0]


class Terms(NamedTuple):
    gTg: float
    gHg: float
    ratio: float  # ½ ε gᵀHg / gᵀg: above 1, the quadratic model says the step −εg raises the cost (eq. 8.10)


def step_ratio(gTg: float, gHg: float, lr: float) -> float:
    """½ ε gᵀHg / gᵀg (eq. 8.10): above 1, the quadratic model says the step −εg raises the cost; NaN when g = 0."""
    return 0.5 * lr * gHg / gTg if gTg > 0 else float("nan")


def curvature_terms(loss, theta: torch.Tensor, g: torch.Tensor, lr: float) -> Terms:
    """The two terms of eq. 8.10 for the step −εg: J(θ − εg) ≈ J(θ) − ε gᵀg + ½ ε² gᵀHg. One Hessian-vector product."""
    gTg = float(g @ g)
    gHg = float(g @ hvp(loss, theta, g))
    return Terms(gTg, gHg, step_ratio(gTg, gHg, lr))


def gradient_and_gHg(loss_value: torch.Tensor, leaves: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(g, gᵀHg) of a loss already computed from `leaves` (tensors with requires_grad): the flat gradient, detached,
    and its curvature, as tensors (no sync). Reuses the step's own backward pass with create_graph, then one more
    backward through it: the eq. 8.10 monitor's whole extra cost."""
    grads = torch.autograd.grad(loss_value, leaves, create_graph=True)
    hg = torch.autograd.grad(grads, leaves, grad_outputs=[t.detach() for t in grads])
    g = torch.cat([t.detach().reshape(-1) for t in grads])
    return g, sum((h * t.detach()).sum() for h, t in zip(hg, grads, strict=True))


def exact_spectrum(loss, theta: torch.Tensor) -> torch.Tensor:
    """All eigenvalues of the Hessian, ascending (float64); refuses models above EXACT_HESSIAN_MAX_PARAMS."""
    check_exact_hessian(theta.numel(), "The exact spectrum", "Use the Lanczos estimate of the extremes.")
    hessian = torch.func.hessian(loss)(theta.detach()).double()
    return torch.linalg.eigvalsh(0.5 * (hessian + hessian.T))


class Lanczos(NamedTuple):
    ritz: torch.Tensor  # Ritz values, ascending: the extremes converge first
    vectors: torch.Tensor  # (P, k) Ritz vectors, same order
    iterations: int


def _tridiagonal(alphas: list[float], betas: list[float]) -> torch.Tensor:
    t = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if len(alphas) > 1:
        off = torch.tensor(betas[: len(alphas) - 1], dtype=torch.float64)
        t += torch.diag(off, 1) + torch.diag(off, -1)
    return t


def lanczos(loss, theta: torch.Tensor, iterations: int = 30, v0: torch.Tensor | None = None, seed: int = 0,
            tol: float | None = None) -> Lanczos:
    """Lanczos with full reorthogonalisation on the Hessian of loss at θ: one Hessian-vector product per iteration.

    The smallest and largest Ritz values approximate λ_min and λ_max from inside (they are never beyond them).
    v0 warm-starts the run (e.g. the last top eigenvector during training). With tol, it stops as soon as the top
    Ritz value moves by less than tol (relative) in one iteration.
    """
    p = theta.numel()
    k = max(1, min(iterations, p))
    dtype = torch.float64
    if v0 is None:
        v0 = torch.randn(p, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    q = v0.to("cpu", dtype)
    basis = torch.zeros(k, p, dtype=dtype)
    alphas, betas, last_top = [], [], float("nan")
    q = q / q.norm()
    for j in range(k):
        basis[j] = q
        w = hvp(loss, theta, q.to(theta.device, theta.dtype)).to("cpu", dtype)
        alphas.append(float(w @ q))
        w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)  # full reorthogonalisation, twice for stability
        w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)
        beta = float(w.norm())
        if tol is not None and j >= 2:
            top = float(torch.linalg.eigvalsh(_tridiagonal(alphas, betas))[-1])
            if j > 2 and abs(top - last_top) <= tol * max(abs(top), 1e-12):
                break
            last_top = top
        if j == k - 1 or beta < 1e-10 * max(1.0, abs(alphas[-1])):
            break
        betas.append(beta)
        q = w / beta
    m = len(alphas)
    ritz, coefficients = torch.linalg.eigh(_tridiagonal(alphas, betas))
    return Lanczos(ritz, basis[:m].T @ coefficients, m)


def top_eigenvalue(loss, theta: torch.Tensor, tol: float = 1e-3, max_iterations: int = 100,
                   v0: torch.Tensor | None = None, seed: int = 0) -> tuple[float, torch.Tensor, int]:
    """λ_max of the Hessian (the largest, not the largest in magnitude) to relative tolerance tol.

    One Lanczos run that stops when its top Ritz value settles; returns (λ_max, its unit eigenvector, Hessian-vector
    products used). Lanczos needs far fewer products than the power iteration PyHessian uses, which converges at
    the rate λ₂/λ₁ and finds the largest |λ|, not the largest λ.
    """
    run = lanczos(loss, theta, max_iterations, v0=v0, seed=seed, tol=tol)
    return float(run.ritz[-1]), run.vectors[:, -1], run.iterations


def hessian_index(eigenvalues: torch.Tensor) -> float:
    """The index: the fraction of eigenvalues below −NEGATIVE_TOL·max|λ|, directions whose negative curvature is at
    least 1% of the largest curvature (definitions §6)."""
    scale = float(eigenvalues.abs().max()) if eigenvalues.numel() else 0.0
    return float((eigenvalues < -NEGATIVE_TOL * scale).double().mean()) if eigenvalues.numel() else float("nan")
