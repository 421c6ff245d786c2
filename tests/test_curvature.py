"""Curvature without the Hessian: HVP, eq. 8.10 terms, Lanczos, λ_max (vs PyHessian), saddle-free Newton, saddles."""

import pytest
import torch
from torch import nn

from core.model import networks, optim
from core.model.data import make_dataset
from core.model.optim import OPTIMIZERS, HyperParams
from core.probes import curvature

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def problem():
    """A small tanh MLP on 3-class blobs in float64: loss(θ), θ, the data and the spec."""
    data = make_dataset("blobs", 120, 0.3, 0.2, seed=3)
    x, y = data.x_train.double(), data.y_train
    spec = networks.MLP(data.n_features, (6,), data.n_classes, "tanh")
    theta = networks.init_params(spec, scale=1.5, seed=2).double()

    def loss(t):
        return networks.loss_fn(spec, t, x, y)

    return loss, theta, spec, x, y


def test_hvp_equals_the_full_hessian_times_v(problem):
    loss, theta, *_ = problem
    hessian = torch.func.hessian(loss)(theta)
    for seed in (0, 1):
        v = torch.randn(theta.numel(), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        torch.testing.assert_close(curvature.hvp(loss, theta, v), hessian @ v, rtol=1e-10, atol=1e-12)


def test_eq_8_10_terms_predict_the_change_of_the_loss(problem):
    loss, theta, *_ = problem
    g = torch.func.grad(loss)(theta)
    terms = curvature.curvature_terms(loss, theta, g, lr=0.5)
    hessian = torch.func.hessian(loss)(theta)
    assert terms.gTg == pytest.approx(float(g @ g), rel=1e-12)
    assert terms.gHg == pytest.approx(float(g @ hessian @ g), rel=1e-10)
    assert terms.ratio == pytest.approx(0.5 * 0.5 * terms.gHg / terms.gTg, rel=1e-12)
    for eps in (1e-2, 1e-3):  # the second-order model's error is O(eps^3)
        actual = float(loss(theta - eps * g) - loss(theta))
        model = -eps * terms.gTg + 0.5 * eps**2 * terms.gHg
        assert abs(actual - model) < 10 * eps**3 * max(1.0, terms.gTg) ** 1.5


def test_exact_spectrum_matches_eigvalsh_and_refuses_big_models(problem):
    loss, theta, *_ = problem
    expected = torch.linalg.eigvalsh(torch.func.hessian(loss)(theta))
    torch.testing.assert_close(curvature.exact_spectrum(loss, theta), expected, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="above the limit"):
        curvature.exact_spectrum(lambda t: (t**2).sum(), torch.zeros(networks.EXACT_HESSIAN_MAX_PARAMS + 1))


def test_lanczos_extremes_match_the_exact_spectrum(problem):
    loss, theta, *_ = problem
    exact = curvature.exact_spectrum(loss, theta)
    full = curvature.lanczos(loss, theta, iterations=theta.numel())
    torch.testing.assert_close(full.ritz[[0, -1]], exact[[0, -1]], rtol=1e-8, atol=1e-10)
    partial = curvature.lanczos(loss, theta, iterations=25)  # far fewer products than P
    assert partial.iterations == 25 < theta.numel()
    assert float(partial.ritz[-1]) == pytest.approx(float(exact[-1]), rel=1e-6)
    assert float(partial.ritz[0]) == pytest.approx(float(exact[0]), rel=1e-3, abs=1e-6)
    assert exact[0] - 1e-9 <= partial.ritz[0] and partial.ritz[-1] <= exact[-1] + 1e-9  # Ritz values stay inside
    hv = curvature.hvp(loss, theta, partial.vectors[:, -1])  # the top Ritz vector is an eigenvector
    torch.testing.assert_close(hv, partial.ritz[-1] * partial.vectors[:, -1], rtol=1e-4, atol=1e-6)


def test_top_eigenvalue_to_tolerance_with_few_products(problem):
    loss, theta, *_ = problem
    exact = float(curvature.exact_spectrum(loss, theta)[-1])
    value, vector, used = curvature.top_eigenvalue(loss, theta, tol=1e-6)
    assert value == pytest.approx(exact, rel=1e-5)
    assert used < theta.numel() and float(vector.norm()) == pytest.approx(1.0)


def _sequential(spec, theta):
    layers = []
    for w, b in zip(*[iter(spec.split(theta))] * 2):
        linear = nn.Linear(w.shape[1], w.shape[0]).double()
        with torch.no_grad():
            linear.weight.copy_(w)
            linear.bias.copy_(b)
        layers += [linear, nn.Tanh()]
    return nn.Sequential(*layers[:-1])


def test_top_eigenvalue_agrees_with_pyhessian(problem):
    from pyhessian import hessian as PyHessian

    loss, theta, spec, x, y = problem
    model = _sequential(spec, theta)
    assert float(nn.functional.cross_entropy(model(x), y)) == pytest.approx(float(loss(theta)), rel=1e-12)
    torch.manual_seed(0)
    theirs = PyHessian(model, nn.CrossEntropyLoss(), data=(x, y), cuda=False).eigenvalues(maxIter=200, tol=1e-6)[0][0]
    ours, _, _ = curvature.top_eigenvalue(loss, theta, tol=1e-6)
    assert ours == pytest.approx(theirs, rel=1e-3)


def test_saddle_free_newton_closed_form_on_a_mixed_sign_quadratic():
    hessian = torch.tensor([[2.0, 0.0], [0.0, -3.0]], dtype=torch.float64)
    rotation = torch.linalg.qr(torch.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=torch.float64))[0]
    h = rotation @ hessian @ rotation.T  # the same curvatures in a rotated basis
    g = torch.tensor([0.7, -1.1], dtype=torch.float64)
    got = optim.saddle_free_direction(g, h, damping=0.5)
    expected = rotation @ ((rotation.T @ g) / torch.tensor([2.5, 3.5], dtype=torch.float64))
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="singular"):
        optim.saddle_free_direction(g, torch.zeros(2, 2, dtype=torch.float64), damping=0.0)


def test_newton_jumps_onto_the_saddle_gradient_descent_and_saddle_free_leave_it():
    """f(x) = x1² − x2²: one undamped Newton step from any x lands exactly on the saddle at 0."""
    def f(x):
        return x[0] ** 2 - x[1] ** 2

    x = torch.tensor([0.3, 0.01], dtype=torch.float64)
    g, h = torch.func.grad(f)(x), torch.func.hessian(f)(x)
    newton = OPTIMIZERS["newton"]
    delta, _ = newton.update(g, newton.init(x), x, HyperParams(lr=1.0, damping=0.0), h)
    torch.testing.assert_close(x + delta, torch.zeros(2, dtype=torch.float64), rtol=0, atol=1e-15)
    saddle_free = OPTIMIZERS["saddle-free"]
    delta, _ = saddle_free.update(g, saddle_free.init(x), x, HyperParams(lr=1.0, damping=0.0), h)
    free = x + delta
    torch.testing.assert_close(free, torch.tensor([0.0, 0.02], dtype=torch.float64))  # x2 doubles: it escapes
    descent = x - 0.1 * g
    assert abs(float(descent[1])) > abs(float(x[1])) and abs(float(descent[0])) < abs(float(x[0]))


def test_index_is_the_share_of_negative_curvature():
    assert curvature.hessian_index(torch.tensor([-2.0, -1e-12, 1.0, 3.0])) == 0.25
    assert curvature.hessian_index(torch.tensor([1.0, 2.0])) == 0.0
