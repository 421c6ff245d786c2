"""Repeated multiplication (core/toys/chain.py) against the closed form λᵗ, forward and backward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.toys import chain


@pytest.mark.parametrize("eigenvalues", [[0.9], [1.05], [-0.7], [0.5, 0.95, 1.0, 1.1, -1.2]])
def test_forward_components_are_lambda_to_the_t(eigenvalues):
    frame = chain.chain(eigenvalues, 60, seed=3)
    t = frame.t.to_numpy()
    assert list(frame.columns) == ["t", "norm"] + [f"component_{k + 1}" for k in range(len(eigenvalues))]
    assert t.tolist() == list(range(61))
    closed = np.stack([lam**t for lam in eigenvalues], axis=1)
    np.testing.assert_allclose(frame.iloc[:, 2:].to_numpy(), closed, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(frame.norm, np.sqrt((closed**2).sum(1)), rtol=1e-10)  # Q is orthogonal


def test_the_scalar_chain_from_any_start():
    frame = chain.chain([0.8], 25, h0=[2.5])
    np.testing.assert_allclose(frame.component_1, 2.5 * 0.8 ** frame.t.to_numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(frame.norm, np.abs(frame.component_1), rtol=1e-12)


def test_a_given_start_splits_along_the_eigenvectors():
    w, q = chain.matrix([0.5, 1.5], seed=1)
    torch.testing.assert_close(q.T @ q, torch.eye(2, dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(w @ q, q * torch.tensor([0.5, 1.5], dtype=torch.float64), rtol=0, atol=1e-12)
    h0 = torch.tensor([1.0, -2.0], dtype=torch.float64)
    frame = chain.chain([0.5, 1.5], 30, h0=h0, seed=1)
    start = (h0 @ q).numpy()
    t = frame.t.to_numpy()
    scale = np.maximum(1.0, frame.norm.to_numpy())  # rounding is relative to ‖h_t‖, here 1.5ᵗ's component
    assert (np.abs(frame.component_1 - start[0] * 0.5**t) <= 1e-10 * scale).all()
    np.testing.assert_allclose(frame.component_2, start[1] * 1.5**t, rtol=1e-10)


@pytest.mark.parametrize("eigenvalues", [[0.9], [1.1], [0.6, 1.0, 1.25]])
def test_backward_is_lambda_to_the_steps_back(eigenvalues):
    frame = chain.gradient_chain(eigenvalues, 40, seed=2)
    back = frame.steps_back.to_numpy()
    assert back.tolist() == list(range(40, -1, -1)) and frame.t.tolist() == list(range(41))
    closed = np.stack([lam**back for lam in eigenvalues], axis=1)
    np.testing.assert_allclose(frame[[f"component_{k + 1}" for k in range(len(eigenvalues))]], closed,
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(frame.spectral, np.max(np.abs(eigenvalues)) ** back, rtol=1e-12)
    w, _ = chain.matrix(eigenvalues, seed=2)
    power = torch.linalg.matrix_power(w, 7)
    np.testing.assert_allclose(frame.spectral.iloc[-8], torch.linalg.matrix_norm(power, 2).item(), rtol=1e-10)


def test_the_scalar_gradient_with_a_given_g():
    frame = chain.gradient_chain([0.9], 10, g=[3.0])
    np.testing.assert_allclose(frame.component_1, 3.0 * 0.9 ** frame.steps_back.to_numpy(), rtol=1e-10)


@pytest.mark.parametrize(("call", "words"), [
    (lambda: chain.chain([], 5), "1 to 64 finite eigenvalues"),
    (lambda: chain.chain([float("nan")], 5), "finite eigenvalues"),
    (lambda: chain.chain([0.5], 0), "t_max must be a whole number"),
    (lambda: chain.chain([0.5, 0.2], 5, h0=[1.0]), "h0 must have 2 entries"),
    (lambda: chain.gradient_chain([0.5], 5, g=[1.0, 2.0]), "g must have 1 entries"),
])
def test_refusals(call, words):
    with pytest.raises(ValueError, match=words):
        call()
