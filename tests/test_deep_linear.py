"""Deep linear regression (definitions §4): the quartic against a torch forward pass, numpy.polyval and autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import grad, hessian

from core.charts import comparators as cc
from core.probes.interpolation import alpha_grid, curve_metrics
from core.toys import deep_linear as dl

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_closed_form_matches_the_torch_forward_pass_on_random_lines():
    rng = np.random.default_rng(0)
    for _ in range(20):
        start, end = tuple(rng.normal(0, 2, 2)), tuple(rng.normal(0, 2, 2))
        frame = dl.line_frame(start, end, np.linspace(-1, 2, 31))
        assert list(frame.columns) == ["alpha", "numeric", "closed_form"]
        np.testing.assert_allclose(frame["closed_form"], frame["numeric"], rtol=1e-10, atol=1e-12)


def test_quartic_coefficients_against_a_direct_evaluation_and_a_fit():
    start, end = (0.3, -1.7), (2.2, 0.4)
    coeffs = dl.quartic(start, end)
    alphas = np.linspace(-2, 3, 17)
    w = (1 - alphas)[:, None] * np.array(start) + alphas[:, None] * np.array(end)  # (A, 2)
    direct = (w[:, 0] * w[:, 1] - 1) ** 2
    np.testing.assert_allclose(np.polyval(coeffs, alphas), direct, rtol=1e-12)
    np.testing.assert_allclose(coeffs, np.polyfit(alphas, direct, 4), rtol=1e-7, atol=1e-9)


def test_numeric_is_a_real_network_forward_pass():
    model = torch.nn.Sequential(torch.nn.Linear(1, 1, bias=False), torch.nn.Linear(1, 1, bias=False)).double()
    with torch.no_grad():
        model[0].weight.fill_(1.3)
        model[1].weight.fill_(-0.6)
    expected = torch.nn.functional.mse_loss(model(torch.ones(1, 1, dtype=torch.float64)),
                                            torch.ones(1, 1, dtype=torch.float64))
    frame = dl.line_frame((1.3, -0.6), (0.0, 0.0), [0.0])
    assert frame["numeric"].iloc[0] == pytest.approx(expected.item(), rel=1e-14)
    assert frame["numeric"].iloc[0] == pytest.approx((1.3 * -0.6 - 1) ** 2, rel=1e-14)


@pytest.mark.filterwarnings("ignore:.*torch.jit.script.*:DeprecationWarning")  # inside torch.func.hessian
def test_origin_is_a_saddle_and_the_hyperbola_holds_the_minima():
    origin = torch.zeros(2, dtype=torch.float64)
    assert torch.count_nonzero(grad(dl.chain_loss)(origin)) == 0
    eig = torch.linalg.eigvalsh(hessian(dl.chain_loss)(origin))
    assert eig.min() < 0 < eig.max()  # indefinite: a saddle, not a minimum
    np.testing.assert_allclose(eig.numpy(), [-2.0, 2.0], atol=1e-12)
    for w1 in (0.25, 1.0, -3.0):
        w = torch.tensor([w1, 1 / w1], dtype=torch.float64)
        assert dl.chain_loss(w).item() == pytest.approx(0.0, abs=1e-15)
        assert torch.linalg.vector_norm(grad(dl.chain_loss)(w)).item() < 1e-12
        assert torch.linalg.eigvalsh(hessian(dl.chain_loss)(w)).min() > -1e-12  # positive semidefinite


def test_the_three_named_lines_reproduce_figs_9_and_10():
    metrics = {}
    for name, (_, start, end) in dl.LINES.items():
        frame = dl.line_frame(start, end, alpha_grid(0, 1, 201))
        metrics[name] = curve_metrics(frame["alpha"], frame["closed_form"])
        assert dl.loss(*end) == pytest.approx(0.0, abs=1e-12)  # each line ends at a solution
    # Fig. 10 left: both ends are minima on the same branch of the hyperbola, yet the line meets a barrier
    _, start, end = dl.LINES["solution → solution (Fig. 10 left)"]
    assert dl.loss(*start) == pytest.approx(0.0, abs=1e-12) and start[0] * end[0] > 0
    assert metrics["solution → solution (Fig. 10 left)"]["barrier"] == pytest.approx((1.25 * 1.25 - 1) ** 2)
    assert metrics["solution → solution (Fig. 10 left)"]["monotone"] is False
    # (1, 1) -> (-1, -1): w₁w₂ = (1 - 2α)², J = ((1 - 2α)² - 1)², both ends 0, so the barrier is J(½) = 1 exactly
    line = dl.line_frame((1.0, 1.0), (-1.0, -1.0), alpha_grid(0, 1, 101))
    assert curve_metrics(line["alpha"], line["closed_form"])["barrier"] == 1.0
    # Fig. 9: from near the saddle, flat at first, then one descent into the only minimum on the line
    small = metrics["small init → solution (Fig. 9)"]
    assert small["monotone"] and small["max_bump"] < 1e-9
    frame = dl.line_frame(*dl.LINES["small init → solution (Fig. 9)"][1:], alpha_grid(0, 1, 201))
    j = frame["closed_form"].to_numpy()
    assert abs(j[10] - j[0]) < 0.02 < j[0] - j[100]  # flat over the first 5%, then falling
    # Fig. 10 right: from a large-norm point, no minimum on the way but the end
    large = metrics["large random point → solution (Fig. 10 right)"]
    assert large["monotone"] and np.linalg.norm(dl.LINES["large random point → solution (Fig. 10 right)"][1]) > 3


def test_surface_and_hyperbola_frames():
    surface = dl.surface_frame(2.0, 41)
    assert len(surface) == 41 * 41 and list(surface.columns) == ["w1", "w2", "loss"]
    np.testing.assert_allclose(surface["loss"], (surface["w1"] * surface["w2"] - 1) ** 2)
    assert surface.loc[(surface.w1 == 0) & (surface.w2 == 0), "loss"].item() == 1.0
    curve = dl.hyperbola(2.0)
    np.testing.assert_allclose(curve["w1"] * curve["w2"], 1.0)
    assert curve["w1"].abs().max() == pytest.approx(2.0) and curve["w2"].abs().max() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="extent"):
        dl.surface_frame(-1.0)


@pytest.mark.parametrize("text", ["1", "a,b", "1,2,3", "nan,1", ""])
def test_parse_point_refuses_bad_text(text):
    with pytest.raises(ValueError, match="w1,w2|finite"):
        dl.parse_point(text)


def test_charts_have_titles_tooltips_and_the_right_layers():
    start, end = dl.LINES["solution → solution (Fig. 10 left)"][1:]
    surface = dl.surface_frame(2.5, 21)
    spec = cc.deep_linear_surface_chart(surface, dl.minima_in_view(surface), start, end).to_dict()
    assert "saddle" in str(spec) and "w₁w₂ = 1" in str(spec)
    assert all("tooltip" in layer["encoding"] for layer in spec["layer"] if layer["mark"]["type"] != "text")
    frame = dl.line_frame(start, end, alpha_grid(-0.5, 1.5, 41))
    spec = cc.deep_linear_line_chart(frame).to_dict()
    assert spec["title"]["text"] == "J along the line" and len(spec["layer"]) == 3
    rules = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "rule")
    assert [row["alpha"] for row in spec["datasets"][rules["data"]["name"]]] == [0.0, 1.0]
