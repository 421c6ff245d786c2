"""Signal through depth at initialisation (core/probes/depth_signal.py) against torch.nn.Sequential with hooks and
.grad, and against the variance recursion a uniform initialisation implies for a linear network."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from core.model import networks
from core.model.build import model_and_data
from core.model.config import from_dict
from core.probes import depth_signal as ds

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MODULES = {"tanh": nn.Tanh, "relu": nn.ReLU, "linear": nn.Identity, "sigmoid": nn.Sigmoid}


def _naive(config, hidden, scale, n, seed):
    """(stds, grad norms) per layer from an nn.Sequential holding the same θ: forward hooks and .grad."""
    spec, data = model_and_data(config)
    spec = networks.MLP(spec.n_in, tuple(hidden), spec.n_out, config.activation)
    idx = torch.randperm(len(data.y_train), generator=torch.Generator().manual_seed(seed))[:n]
    x, y = data.x_train[idx], data.y_train[idx]
    linears = [nn.Linear(i, o) for (o, i), _ in spec.shapes]
    layers = []
    for k, lin in enumerate(linears):
        layers += [lin] + ([MODULES[config.activation]()] if k < len(linears) - 1 else [])
    model = nn.Sequential(*layers)
    with torch.no_grad():
        for p, v in zip(model.parameters(), spec.split(networks.init_params(spec, scale, config.seed))):
            p.copy_(v)
    outputs = []
    for k, module in enumerate(model):
        if k % 2 == 1 or k == len(model) - 1:  # each activation module, and the last Linear (the logits)
            module.register_forward_hook(lambda _m, _i, out: outputs.append(out.detach()))
    nn.functional.cross_entropy(model(x), y).backward()
    return ([o.double().std(correction=0).item() for o in outputs],
            [lin.weight.grad.double().norm().item() for lin in linears])


@pytest.mark.parametrize("activation", ["tanh", "relu", "linear"])
def test_depth_signal_equals_an_nn_sequential_with_hooks_and_grad(activation):
    config = from_dict({"dataset": "digits", "hidden": [16], "activation": activation, "device": "cpu", "seed": 3})
    hidden = (24, 16, 16, 12, 12, 8, 8)  # 7 layers: more than a TrainConfig may have
    frame = ds.depth_signal(config, [0.5, 2.0], n=100, seed=4, hidden=hidden)
    assert list(frame.columns) == ["scale", "layer", "activation_std", "grad_norm"]
    assert len(frame) == 2 * (len(hidden) + 1)
    for scale in (0.5, 2.0):
        rows = frame[frame.scale == scale]
        assert rows.layer.tolist() == list(range(1, len(hidden) + 2))
        stds, norms = _naive(config, hidden, scale, 100, 4)
        assert rows.activation_std.tolist() == pytest.approx(stds, rel=1e-5)
        assert rows.grad_norm.tolist() == pytest.approx(norms, rel=1e-4, abs=1e-12)


@pytest.mark.parametrize("scale", [2.0, 3.0])
def test_a_wide_linear_network_multiplies_the_std_by_s_over_root_3_a_layer(scale):
    """U(−s/√fan_in, s/√fan_in) weights have variance s²/(3 fan_in); a linear layer of fan_in inputs multiplies the
    mean square by fan_in · s²/(3 fan_in) = s²/3, so the std grows by s/√3 a layer (the bias adds s²/(3 fan_in),
    negligible here). The fitted log-slope is within 10% of log(s/√3) at width 512."""
    config = from_dict({"dataset": "digits", "hidden": [8], "activation": "linear", "device": "cpu"})
    frame = ds.depth_signal(config, [scale], hidden=(512,) * 8)
    assert ds.log_slope(frame, scale) == pytest.approx(math.log(scale / math.sqrt(3)), rel=0.1)


def test_with_the_bias_the_mean_square_follows_q_next_equals_s2_over_3_times_q_plus_1_over_fan_in():
    """At s = 1 the signal shrinks by 1/3 in mean square a layer until the biases' s²/(3 fan_in) holds it up:
    q_{ℓ+1} = (s²/3)(q_ℓ + 1/fan_in), q the mean square of h_ℓ (≈ its variance here)."""
    config = from_dict({"dataset": "digits", "hidden": [8], "activation": "linear", "device": "cpu"})
    frame = ds.depth_signal(config, [1.0], hidden=(512,) * 8)
    stds = frame.activation_std.tolist()
    q = stds[0] ** 2
    for layer in range(1, 8):
        q = (q + 1 / 512) / 3
        assert stds[layer] == pytest.approx(math.sqrt(q), rel=0.1), layer


def test_without_an_override_the_config_network_is_used_and_logistic_regression_has_one_layer():
    config = from_dict({"dataset": "moons", "n_samples": 100, "hidden": [5, 3], "device": "cpu"})
    frame = ds.depth_signal(config, [1])
    assert frame.layer.tolist() == [1, 2, 3]  # two hidden layers and the output; n = 512 > 80 takes all 80
    stds, norms = _naive(config, (5, 3), 1.0, 80, 0)
    assert frame.activation_std.tolist() == pytest.approx(stds, rel=1e-5)
    assert ds.depth_signal(config.replace(hidden=[]), [1]).layer.tolist() == [1]


@pytest.mark.parametrize("hidden", [(64,) * 11, (), (0, 4), (4, 2000), (4, 2.5), "64,64", (True,)])
def test_the_hidden_override_is_1_to_10_layers_of_widths_1_to_1024(hidden):
    config = from_dict({"dataset": "moons", "n_samples": 100, "device": "cpu"})
    with pytest.raises(ValueError, match=r"hidden must be 1 to 10 widths, each a whole number from 1 to 1024"):
        ds.depth_signal(config, [1], hidden=hidden)


def test_ten_layers_of_1024_are_allowed():
    assert ds.check_hidden([1024] * 10) == (1024,) * 10


@pytest.mark.parametrize("scales", [[], [0], [-1], [float("nan")], [float("inf")], [101], ["1"]])
def test_scales_must_be_positive_finite_numbers(scales):
    config = from_dict({"dataset": "moons", "n_samples": 100, "device": "cpu"})
    with pytest.raises(ValueError, match="init scale"):
        ds.depth_signal(config, scales)
