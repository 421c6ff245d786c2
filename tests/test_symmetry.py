"""Weight-space symmetry against independent answers: forward passes, brute force over permutations, and the CLI."""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from core import presets
from core.cli.main import main
from core.model import networks
from core.model.config import TrainConfig
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


def _one_unit(w=0.8, b=0.3, v=-1.2, c=0.4):
    """f(x) = v·relu(w·x + b) + c, one input, one ReLU unit, one output: θ = (w, b, v, c) in the MLP's order."""
    return networks.MLP(1, (1,), 1, "relu"), torch.tensor([w, b, v, c], dtype=torch.float64)


@pytest.mark.parametrize("a", [0.1, 0.5, 1.0, 2.0, 10.0])
def test_rescaled_lambda_max_has_the_closed_form_of_one_relu_unit(a):
    """J = ½(f(x) − y)² at one point the unit fits exactly (h = wx + b > 0, residual 0): H = ∇f ∇fᵀ with
    ∇f = (v·x, v, h, 1) over (w, b, v, c), so λ_max = ‖∇f‖² = v²(x² + 1) + h² + 1. Rescaling by a maps h → a·h and
    v → v/a: λ_max(a) = (v²/a²)(x² + 1) + a²h² + 1, while f is unchanged."""
    x = 1.5
    spec, theta = _one_unit()
    w, b, v, c = theta.tolist()
    h = w * x + b
    y = v * h + c  # the unit fits this point exactly
    inputs = torch.tensor([[x]], dtype=torch.float64)

    def loss(t):
        return 0.5 * ((networks.forward(spec, spec.split(t), inputs) - y) ** 2).sum()

    scaled = symmetry.rescale(spec, theta, layer=0, unit=0, a=a)
    assert torch.allclose(scaled, torch.tensor([a * w, a * b, v / a, c], dtype=torch.float64))
    assert float(loss(scaled)) == pytest.approx(0.0, abs=1e-24)
    closed = v**2 / a**2 * (x**2 + 1) + a**2 * h**2 + 1
    exact = torch.linalg.eigvalsh(torch.func.hessian(loss)(scaled))
    assert float(exact[-1]) == pytest.approx(closed, rel=1e-12)
    assert exact[:-1].abs().max() < 1e-9 * closed  # rank one: the other three curvatures are 0
    lanczos, _, _ = curvature.top_eigenvalue(loss, scaled, tol=1e-10)  # the function the Minima page uses
    assert lanczos == pytest.approx(closed, rel=1e-9)


def test_the_flattest_rescaling_of_one_relu_unit_is_where_the_closed_form_says():
    """λ_max(a) = (v²/a²)(x² + 1) + a²h² + 1 is smallest at a⁴ = v²(x² + 1)/h², where it is 2|v|·h·√(x² + 1) + 1."""
    x, (spec, theta) = 1.5, _one_unit()
    w, b, v, c = theta.tolist()
    h = w * x + b
    inputs = torch.tensor([[x]], dtype=torch.float64)

    def loss(t):
        return 0.5 * ((networks.forward(spec, spec.split(t), inputs) - (v * h + c)) ** 2).sum()

    best = (v**2 * (x**2 + 1) / h**2) ** 0.25
    at = [curvature.top_eigenvalue(loss, symmetry.rescale(spec, theta, 0, 0, best * f), tol=1e-10)[0]
          for f in (0.9, 1.0, 1.1)]
    assert at[1] == pytest.approx(2 * abs(v) * h * (x**2 + 1) ** 0.5 + 1, rel=1e-9) and at[1] < min(at[0], at[2])


@pytest.mark.parametrize("activation", ["relu", "maxout"])
def test_rescaled_copies_keep_the_function_and_their_lambda_max_is_the_exact_hessians(activation):
    spec, theta = _net(activation, hidden=(6,))
    y = torch.arange(64) % 3
    data = SimpleNamespace(x_train=X, y_train=y, x_val=X[:8], y_val=y[:8])
    table = symmetry.rescaled_table(spec, data, theta, layer=0, unit=None, scales=(0.2, 1.0, 5.0))
    assert table["max_output_difference"].max() <= 1e-5
    loss = lambda t: networks.loss_fn(spec, t, X.double(), y)  # noqa: E731
    for row in table.itertuples():
        one_by_one = theta
        for unit in range(6):  # every unit of the layer = each unit in turn
            one_by_one = symmetry.rescale(spec, one_by_one, 0, unit, row.a)
        torch.testing.assert_close(symmetry.rescale(spec, theta, 0, None, row.a), one_by_one)
        assert row.norm == pytest.approx(float(one_by_one.norm()), rel=1e-6)
        exact = torch.linalg.eigvalsh(torch.func.hessian(loss)(one_by_one.double()))[-1]
        assert row.lambda_max == pytest.approx(float(exact), rel=1e-3)  # Lanczos to LAMBDA_TOL, from inside
    lam = table.set_index("a")["lambda_max"]
    assert lam[0.2] > 2 * lam[1.0] and lam[5.0] > 2 * lam[1.0]  # same function, other sharpness (Dinh et al. 2017)


def test_rescaling_refuses_what_does_not_keep_the_function():
    with pytest.raises(ValueError, match="relu, linear, maxout"):
        symmetry.rescale(*_net("tanh"), layer=0, unit=0, a=2.0)
    spec, theta = _net("relu")
    with pytest.raises(ValueError, match="positive"):
        symmetry.rescale(spec, theta, 0, 0, 0.0)
    with pytest.raises(ValueError, match="no hidden unit 6 in layer 0"):
        symmetry.rescale(spec, theta, 0, 6, 2.0)


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


def _brute_barrier(spec, data, theta0, theta1, alphas):
    """max over α of J(θ(α)) minus the chord, with the loss evaluated point by point."""
    j = [float(networks.loss_fn(spec, (1 - a) * theta0 + a * theta1, data.x_train, data.y_train)) for a in alphas]
    return max(0.0, max(v - ((1 - a) * j[0] + a * j[-1]) for a, v in zip(alphas, j)))


def test_a_permuted_copys_numbers_against_direct_evaluation():
    spec, theta = _net("relu", hidden=(8, 8))
    y = torch.arange(64) % 3
    data = SimpleNamespace(x_train=X, y_train=y, x_val=X[:16], y_val=y[:16])
    copy, frame, numbers = symmetry.permuted_copy(spec, data, theta, seed=4)
    torch.testing.assert_close(copy, symmetry.permute(spec, theta, symmetry.random_permutations(spec, 4)))
    assert numbers["max_output_difference"] == float((_logits(spec, copy) - _logits(spec, theta)).abs().max())
    assert numbers["distance_ratio"] == pytest.approx(float((copy - theta).norm() / theta.norm()), rel=1e-6)
    assert numbers["barrier"] == pytest.approx(_brute_barrier(spec, data, theta, copy, frame["alpha"]), abs=1e-5)
    assert numbers["barrier"] > 0


def test_aligning_a_permuted_copy_leaves_no_barrier():
    spec, theta = _net("relu", hidden=(8, 8))
    y = torch.arange(64) % 3
    data = SimpleNamespace(x_train=X, y_train=y, x_val=X[:16], y_val=y[:16])
    shuffled = symmetry.permute(spec, theta, symmetry.random_permutations(spec, 7))
    matched, lines, numbers = symmetry.aligned(spec, data, theta, shuffled)
    assert torch.equal(matched, theta) and numbers["barrier_after"] == 0.0 and numbers["barrier_ratio"] == 0.0
    assert numbers["barrier_before"] == pytest.approx(
        _brute_barrier(spec, data, theta, shuffled, lines["before"]["alpha"]), abs=1e-5)
    assert numbers["loss_shift_size"] <= 1e-6


def test_the_barrier_width_sweep_pairs_every_seed_and_undoes_permutations():
    """A fake trainer whose seeds are permuted copies of one network: matching must find them all the same."""
    config = TrainConfig(dataset="moons", n_samples=100, hidden=(4, 4), activation="relu", device="cpu")
    calls, done = [], []

    def train(net, seeds):
        spec = networks.MLP(2, tuple(net.hidden), 2, "relu")
        base = networks.init_params(spec, 1.0, seed=0)
        calls.append((tuple(net.hidden), tuple(seeds)))
        return torch.stack([symmetry.permute(spec, base, symmetry.random_permutations(spec, s)) for s in seeds])

    frame = symmetry.barrier_width_sweep(config, [3, 6], [0, 1, 2], train, progress=done.append)
    assert calls == [((3, 3), (0, 1, 2)), ((6, 6), (0, 1, 2))] and done == [1, 2]
    assert list(frame.columns) == symmetry.BARRIER_COLUMNS
    assert frame[["width", "seed_a", "seed_b"]].values.tolist() == [[w, a, b] for w in (3, 6)
                                                                    for a, b in ((0, 1), (0, 2), (1, 2))]
    assert (frame["barrier_after"] == 0).all() and (frame["barrier_before"] > 0).any()
    assert (frame["loss_a"] - frame["loss_b"]).abs().max() < 1e-6  # one function, three orders of its units
    with pytest.raises(ValueError, match="two seeds"):
        symmetry.barrier_width_sweep(config, [3], [0], train)


def test_cli_rescale_and_align_width(tmp_path, capsys, monkeypatch):
    assert main(["train", "--set", "activation=relu", "--set", "hidden=[8]", "--set", "steps=50", "--out",
                 str(tmp_path / "r")]) == 0
    assert main(["rescale", "--run", str(tmp_path / "r"), "--out", str(tmp_path / "s")]) == 0
    table = pd.read_csv(tmp_path / "s" / "rescale.csv")
    assert list(table.columns) == ["a", "max_output_difference", "norm", "lambda_max"] and len(table) == 7
    assert table.max_output_difference.max() < 1e-5
    monkeypatch.setattr(presets, "BARRIER_WIDTHS", (2, 4))
    monkeypatch.setitem(presets.BARRIER_SETS, "moons", {**presets.BARRIER_SETS["moons"], "steps": 20})
    assert main(["align-width", "--out", str(tmp_path / "w")]) == 0
    frame = pd.read_csv(tmp_path / "w" / "barriers.csv")
    assert frame.width.tolist() == [2] * 6 + [4] * 6 and "median barrier before matching" in capsys.readouterr().out
    assert main(["align-width", "--data", "cifar", "--out", str(tmp_path / "x")]) == 2
    assert main(["train", "--set", "hidden=[8]", "--set", "steps=5", "--out", str(tmp_path / "t")]) == 0
    assert main(["rescale", "--run", str(tmp_path / "t"), "--out", str(tmp_path / "u")]) == 2  # tanh
