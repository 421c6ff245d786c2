"""core.model.cnn: the flat-theta CNN against torch.nn, split's views, double-backward HVPs, the validator."""

import math
import pickle

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from core.model.cnn import CNN, check_cnn

CASES = [((1, 8, 8), (4, 8)), ((1, 40), (4, 8)), ((1, 28, 28), (2, 3, 4)), ((2, 1, 5), (3, 2))]


def reference_module(spec: CNN) -> nn.Sequential:
    """The same architecture built from torch.nn, in the same parameter order as theta."""
    conv = nn.Conv1d if spec.n_dims == 1 else nn.Conv2d
    pool = nn.MaxPool1d if spec.n_dims == 1 else nn.MaxPool2d
    layers, c_in = [], spec.input_shape[0]
    for c_out, kernel in zip(spec.channels, spec.pools):
        layers += [conv(c_in, c_out, 3, padding=1), nn.ReLU()] + ([pool(kernel)] if kernel else [])
        c_in = c_out
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(spec.flat_features, spec.n_out))


def load(module: nn.Module, spec: CNN, theta: torch.Tensor) -> nn.Module:
    with torch.no_grad():
        for p, v in zip(module.parameters(), spec.split(theta), strict=True):
            assert p.shape == v.shape
            p.copy_(v)
    return module


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("input_shape,channels", CASES)
def test_forward_matches_nn_sequential(input_shape, channels, dtype):
    spec = CNN(input_shape, channels, 10)
    gen = torch.Generator().manual_seed(0)
    theta = torch.randn(spec.n_params, generator=gen, dtype=dtype) * 0.3
    x = torch.randn(7, math.prod(input_shape), generator=gen, dtype=dtype)
    module = load(reference_module(spec).to(dtype), spec, theta)
    ours = spec.forward(spec.split(theta), x)
    assert ours.shape == (7, 10) and ours.dtype == dtype
    torch.testing.assert_close(ours, module(x.view(7, *input_shape)), rtol=0, atol=1e-6)


@pytest.mark.parametrize("input_shape,channels", CASES)
def test_n_params_and_shapes_match_the_module(input_shape, channels):
    spec = CNN(input_shape, channels, 3)
    module = reference_module(spec)
    assert spec.n_params == sum(p.numel() for p in module.parameters())
    assert [s for pair in spec.shapes for s in pair] == [tuple(p.shape) for p in module.parameters()]


def test_spatial_sizes_and_pooling():
    assert CNN((1, 28, 28), (2, 3, 4), 10).flat_features == 4 * 3 * 3  # 28 -> 14 -> 7 -> 3 (floor)
    assert CNN((1, 40), (4, 8), 10).flat_features == 8 * 10
    deep = CNN((1, 2, 2), (2, 2, 2), 10)  # 2x2 -> 1x1, then nothing left to pool
    assert deep.pools == [(2, 2), None, None] and deep.flat_features == 2
    assert CNN((1, 1, 6), (2,), 4).pools == [(1, 2)]  # an axis of size 1 is not pooled


def test_split_round_trip_and_batches():
    spec = CNN((1, 8, 8), (4, 8), 10)
    theta = torch.randn(spec.n_params)
    parts = spec.split(theta)
    assert torch.equal(torch.cat([p.reshape(-1) for p in parts]), theta)
    assert all(p._base is theta for p in parts)  # views, no copies
    batch = torch.randn(2, 3, spec.n_params)
    for p, (w, _) in zip(spec.split(batch)[::2], spec.shapes):
        assert p.shape == (2, 3, *w)
    flat = torch.cat([p.reshape(2, 3, -1) for p in spec.split(batch)], dim=-1)
    assert torch.equal(flat, batch)


def test_forward_under_vmap_and_grad_leaves():
    spec = CNN((1, 8, 8), (2, 3), 4)
    thetas, x = torch.randn(3, spec.n_params) * 0.3, torch.randn(5, spec.n_in)
    batched = torch.func.vmap(lambda th: spec.forward(spec.split(th), x))(thetas)
    for k in range(3):
        torch.testing.assert_close(batched[k], spec.forward(spec.split(thetas[k]), x))
    leaves = [p.detach().requires_grad_() for p in spec.split(thetas[0].clone())]  # as core.train.run does
    grads = torch.autograd.grad(spec.forward(leaves, x).square().sum(), leaves)
    assert [g.shape for g in grads] == [p.shape for p in leaves]


@pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:DeprecationWarning")  # torch's own jvp decompositions
def test_hvp_by_double_backward_matches_func_hessian():
    spec = CNN((1, 4, 4), (2,), 3)
    gen = torch.Generator().manual_seed(1)
    theta = torch.randn(spec.n_params, generator=gen, dtype=torch.float64)
    x = torch.randn(6, spec.n_in, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 3, (6,), generator=gen)
    v = torch.randn(spec.n_params, generator=gen, dtype=torch.float64)

    def loss(th):
        return F.cross_entropy(spec.forward(spec.split(th), x), y)

    th = theta.clone().requires_grad_()
    (g,) = torch.autograd.grad(loss(th), th, create_graph=True)
    (hv,) = torch.autograd.grad(g @ v, th)
    hessian = torch.func.hessian(loss)(theta)
    assert hessian.shape == (spec.n_params, spec.n_params)
    torch.testing.assert_close(hv, hessian @ v, rtol=0, atol=1e-8)
    _, jvp = torch.func.jvp(torch.func.grad(loss), (theta,), (v,))  # forward-over-reverse agrees too
    torch.testing.assert_close(jvp, hv, rtol=0, atol=1e-8)


def test_default_init_bounds_from_fan_in():
    """fan_in = prod(weight_shape[1:]) gives nn.Conv/nn.Linear's default U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    spec = CNN((1, 8, 8), (8, 16), 10)
    module = reference_module(spec)
    for (w, _), (wp, bp) in zip(spec.shapes, zip(list(module.parameters())[::2], list(module.parameters())[1::2])):
        bound = 1 / math.sqrt(math.prod(w[1:]))
        assert bound * 0.9 < wp.abs().max() <= bound and bp.abs().max() <= bound
    from core.model import networks  # the project's init with fan_in = prod(w[1:]) draws from the same bounds

    theta = networks.init_params(spec, scale=1.0, seed=0)
    assert theta.shape == (spec.n_params,)
    for (w, _), (wt, bt) in zip(spec.shapes, zip(spec.split(theta)[::2], spec.split(theta)[1::2])):
        bound = 1 / math.sqrt(math.prod(w[1:]))
        assert bound * 0.9 < wt.abs().max() <= bound and bt.abs().max() <= bound


def test_describe_kind_and_pickle():
    spec = CNN((1, 8, 8), (8, 16), 10)
    assert spec.kind == "cnn" and spec.task == "classification"
    assert spec.describe() == "CNN 1×8×8 → conv 8 → conv 16 → 10"
    assert CNN([1, 40], [4], 10) == CNN((1, 40), (4,), 10)
    assert spec.flat_features == 64  # fills the cache; equality, hashing and pickling still see only the fields
    again = pickle.loads(pickle.dumps(spec))
    assert again == spec and hash(again) == hash(CNN((1, 8, 8), (8, 16), 10))


@pytest.mark.parametrize("input_shape,channels,words", [
    ((1, 8, 8, 8), (4,), "input shape must be"),
    ((64,), (4,), "input shape must be"),
    ((1, 0, 8), (4,), "input shape must be"),
    ((1, 8, 8), (), "1 to 3 conv blocks"),
    ((1, 8, 8), (4, 4, 4, 4), "1 to 3 conv blocks"),
    ((1, 8, 8), (0,), "1 to 64 channels"),
    ((1, 8, 8), (65,), "1 to 64 channels"),
    ((1, 8, 8), (4.0,), "1 to 64 channels"),
])
def test_check_cnn_messages(input_shape, channels, words):
    with pytest.raises(ValueError, match=words) as info:
        check_cnn(input_shape, channels)
    assert str(info.value).count(". ") == 0  # one sentence
    with pytest.raises(ValueError, match=words):
        CNN(input_shape, channels, 10)
    check_cnn((1, 40), (64, 1, 2))  # the largest and smallest allowed pass
