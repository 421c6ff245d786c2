"""Weight-space symmetry against independent answers: forward passes, brute force over permutations, and the CLI."""

from __future__ import annotations

import itertools
import json

import pandas as pd
import pytest
import torch

from core.cli.main import main
from core.model import networks
from core.probes import curvature, symmetry

X = torch.randn(64, 5, generator=torch.Generator().manual_seed(0))


def _net(activation: str, hidden=(6, 4)):
    spec = networks.MLP(5, hidden, 3, activation)
    return spec, networks.init_params(spec, 1.0, seed=1)


def _logits(spec, theta):
    return networks.forward(spec, spec.split(theta), X)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "maxout"])
def test_a_permuted_network_computes_the_same_function_far_away(activation):
    spec, theta = _net(activation)
    permuted = symmetry.permute(spec, theta, symmetry.random_permutations(spec, seed=3))
    assert (_logits(spec, permuted) - _logits(spec, theta)).abs().max() <= 1e-6
    assert torch.linalg.vector_norm(permuted - theta) > 0.5 * torch.linalg.vector_norm(theta)


def test_a_permutation_must_reorder_every_unit():
    spec, theta = _net("relu")
    with pytest.raises(ValueError, match="must reorder"):
        symmetry.permute(spec, theta, [torch.tensor([0, 0, 1, 2, 3, 4]), torch.arange(4)])


@pytest.mark.parametrize("activation", ["relu", "maxout"])
def test_rescaling_a_unit_keeps_the_function_but_not_the_sharpness(activation):
    spec, theta = _net(activation, hidden=(6,))
    scaled = symmetry.rescale(spec, theta, layer=0, unit=2, a=10.0)
    assert (_logits(spec, scaled) - _logits(spec, theta)).abs().max() <= 1e-5
    y = torch.arange(64) % 3
    loss = lambda t: networks.loss_fn(spec, t, X.double(), y)  # noqa: E731
    before, _, _ = curvature.top_eigenvalue(loss, theta.double(), tol=1e-6)
    after, _, _ = curvature.top_eigenvalue(loss, scaled.double(), tol=1e-6)
    assert abs(after - before) > 0.1 * before  # same function, another λ_max (Dinh et al. 2017)
    with pytest.raises(ValueError, match="relu, linear, maxout"):
        symmetry.rescale(*_net("tanh"), layer=0, unit=0, a=2.0)


def test_weight_matching_finds_the_brute_force_best_on_a_width_4_layer():
    spec = networks.MLP(5, (4,), 3, "relu")
    a, b = networks.init_params(spec, seed=1), networks.init_params(spec, seed=2)
    best = max(symmetry.match_objective(spec, a, symmetry.permute(spec, b, [torch.tensor(p)]))
               for p in itertools.permutations(range(4)))
    found = symmetry.permute(spec, b, symmetry.weight_matching(spec, a, b))
    assert symmetry.match_objective(spec, a, found) == pytest.approx(best, rel=1e-12)


@pytest.mark.parametrize("activation", ["relu", "maxout"])
def test_weight_matching_undoes_a_permutation(activation):
    spec, theta = _net(activation, hidden=(8, 8))
    shuffled = symmetry.permute(spec, theta, symmetry.random_permutations(spec, seed=5))
    realigned = symmetry.permute(spec, shuffled, symmetry.weight_matching(spec, theta, shuffled))
    assert torch.equal(realigned, theta)


def test_cli_permute_and_align(tmp_path, capsys):
    for name, seed in (("a", 0), ("b", 1)):
        assert main(["train", "--set", "activation=relu", "--set", "hidden=[16,16]", "--set", "steps=300",
                     "--set", f"seed={seed}", "--out", str(tmp_path / name)]) == 0
    assert main(["permute", "--run", str(tmp_path / "a"), "--seed", "2", "--out", str(tmp_path / "p")]) == 0
    summary = json.loads((tmp_path / "p" / "summary.json").read_text(encoding="utf-8"))
    assert summary["max_output_difference"] <= 1e-5 and abs(summary["loss_difference"]) <= 1e-6
    assert summary["distance"] > 1 and summary["barrier"] > 0  # one function, two far points, a bump between
    curve = pd.read_csv(tmp_path / "p" / "interpolation.csv")
    assert curve.train_loss.iloc[0] == pytest.approx(curve.train_loss.iloc[-1], abs=1e-6)
    assert main(["align", "--run", str(tmp_path / "a"), "--to", str(tmp_path / "b"), "--out", str(tmp_path / "m")]) == 0
    aligned = json.loads((tmp_path / "m" / "summary.json").read_text(encoding="utf-8"))
    assert abs(aligned["loss_B_aligned_minus_loss_B"]) <= 1e-6  # matching changes B's units, not its function
    assert aligned["barrier_after"] <= aligned["barrier_before"]
    frame = pd.read_csv(tmp_path / "m" / "interpolation.csv")
    assert list(frame.columns) == ["curve", "alpha", "train_loss", "val_loss"] and set(frame.curve) == {"before",
                                                                                                        "after"}
