"""Repeated multiplication by one matrix (DL §8.2.5, §10.7): h_t = W h_{t−1} with W = Q diag(λ) Qᵀ, forward and back.

Along eigenvector q_k the component of h_t is λ_kᵗ·(q_kᵀh_0): it vanishes where |λ_k| < 1 and explodes where
|λ_k| > 1. Backward, ∂h_T/∂h_t = W^(T−t), so the gradient ∂J/∂h_t of J = gᵀh_T has component λ_k^(T−t)·(q_kᵀg)
along q_k. Q is a seeded random orthogonal matrix; with one eigenvalue the chain is the scalar h_t = λ h_{t−1}.
Everything in float64; the backward chain is computed by autograd through the forward one.
"""

from __future__ import annotations

import pandas as pd
import torch

MAX_DIM, MAX_STEPS = 64, 10_000


def _eigenvalues(eigenvalues) -> torch.Tensor:
    lam = torch.as_tensor(eigenvalues, dtype=torch.float64).reshape(-1)
    if not 1 <= len(lam) <= MAX_DIM or not torch.isfinite(lam).all():
        raise ValueError(f"give 1 to {MAX_DIM} finite eigenvalues, got {list(lam.tolist())}")
    return lam


def _steps(t_max) -> int:
    if not isinstance(t_max, int) or isinstance(t_max, bool) or not 1 <= t_max <= MAX_STEPS:
        raise ValueError(f"t_max must be a whole number from 1 to {MAX_STEPS}, got {t_max!r}")
    return t_max


def orthogonal(n: int, seed: int = 0) -> torch.Tensor:
    """A random orthogonal (n, n) float64 matrix, seeded: Q of the QR of a Gaussian matrix, signs fixed so that R's
    diagonal is positive (Haar-distributed). For n = 1, [[1]]."""
    if n == 1:
        return torch.ones(1, 1, dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


def matrix(eigenvalues, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(W, Q): W = Q diag(λ) Qᵀ, symmetric, with eigenvector q_k the k-th column of Q."""
    lam = _eigenvalues(eigenvalues)
    q = orthogonal(len(lam), seed)
    return (q * lam) @ q.T, q


def _frame(t, vectors: torch.Tensor, q: torch.Tensor, extra: dict | None = None) -> pd.DataFrame:
    """t, norm ‖v‖₂ and component_k = q_kᵀv, one row per vector of vectors (rows, n)."""
    components = (vectors @ q).numpy()
    columns = {"t": t, **(extra or {}), "norm": torch.linalg.vector_norm(vectors, dim=1).numpy()}
    columns.update({f"component_{k + 1}": components[:, k] for k in range(q.shape[1])})
    return pd.DataFrame(columns)


def chain(eigenvalues, t_max: int, h0=None, seed: int = 0) -> pd.DataFrame:
    """h_0, ..., h_{t_max} of h_t = W h_{t−1}: a frame of t, norm ‖h_t‖₂ and component_k = q_kᵀh_t per eigenvector.
    h0 None: Q·1, every component 1 at t = 0 (so component_k = λ_kᵗ)."""
    w, q = matrix(eigenvalues, seed)
    t_max = _steps(t_max)
    h = q.sum(1) if h0 is None else torch.as_tensor(h0, dtype=torch.float64).reshape(-1)
    if h.shape != (len(q),):
        raise ValueError(f"h0 must have {len(q)} entries, one per eigenvalue, got {tuple(h.shape)}")
    hs = [h]
    for _ in range(t_max):
        hs.append(w @ hs[-1])
    return _frame(range(t_max + 1), torch.stack(hs), q)


def gradient_chain(eigenvalues, t_max: int, g=None, seed: int = 0) -> pd.DataFrame:
    """∂J/∂h_t for t = 0..T (T = t_max) of J = gᵀh_T, by backpropagation through the chain (= (W^(T−t))ᵀg): a frame
    of t, steps_back T − t, norm ‖∂J/∂h_t‖₂, spectral ‖W^(T−t)‖₂ = max_k |λ_k|^(T−t) and component_k = q_kᵀ∂J/∂h_t.
    g None: Q·1 (so component_k = λ_k^(T−t))."""
    w, q = matrix(eigenvalues, seed)
    t_max = _steps(t_max)
    g = q.sum(1) if g is None else torch.as_tensor(g, dtype=torch.float64).reshape(-1)
    if g.shape != (len(q),):
        raise ValueError(f"g must have {len(q)} entries, one per eigenvalue, got {tuple(g.shape)}")
    hs = [q.sum(1).requires_grad_()]
    for _ in range(t_max):
        hs.append(w @ hs[-1])
    grads = torch.autograd.grad(g @ hs[-1], hs[:-1]) + (g,)  # ∂J/∂h_T = g
    back = torch.arange(t_max, -1, -1)
    spectral = torch.abs(_eigenvalues(eigenvalues)).max() ** back.double()
    return _frame(range(t_max + 1), torch.stack(grads).detach(), q,
                  {"steps_back": back.numpy(), "spectral": spectral.numpy()})
