"""The Long-term dependencies page's charts (core/charts/memory.py): valid Vega-Lite, the dashed closed form is
exactly |λ|ᵗ (forward) and |λ|^(T−t) (backward) times the start, the computed points are the chain's own numbers,
and every legend sits outside the plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.charts import memory as mc
from core.toys import chain as ch

LAM = [0.9, 1.0, 1.1, -0.5]
T = 40


def _states() -> pd.DataFrame:
    rows = [("RNN 1", p, t, 0.6 ** (20 - t) * (1 if p == "θ_init" else 50)) for p in ("θ_init", "θ_final")
            for t in range(1, 21)]
    return pd.DataFrame(rows, columns=["run", "point", "t", "norm"])


def _charts():
    return [mc.chain_chart(ch.chain(LAM, T), LAM), mc.chain_chart(ch.gradient_chain(LAM, T), LAM, backward=True),
            mc.state_gradient_chart(_states(), "title", "subtitle")]


@pytest.mark.parametrize("backward", [False, True])
def test_the_closed_form_overlay_is_exactly_lambda_to_the_t(backward):
    frame = ch.gradient_chain(LAM, T) if backward else ch.chain(LAM, T)
    long = mc.chain_long(frame, LAM, backward)
    for k, lam in enumerate(LAM):
        rows = long[(long["series"] == mc.component_label(k + 1, lam)) & (long["kind"] == mc.CLOSED)]
        exponent = T - rows["t"].to_numpy() if backward else rows["t"].to_numpy()
        assert len(rows) == T + 1
        np.testing.assert_allclose(rows["value"].to_numpy(), np.abs(lam) ** exponent, rtol=1e-12)
        computed = long[(long["series"] == mc.component_label(k + 1, lam)) & (long["kind"] == mc.COMPUTED)]
        np.testing.assert_allclose(computed["value"].to_numpy(), np.abs(frame[f"component_{k + 1}"]), rtol=0)
    norm = long[long["series"] == ("‖∂J/∂h_t‖" if backward else "‖h_t‖")]
    np.testing.assert_allclose(norm["value"].to_numpy(), frame["norm"].to_numpy(), rtol=0)


def test_exact_zeros_are_left_out_of_the_log_axis():
    long = mc.chain_long(ch.chain([0.0, 0.5], 5), [0.0, 0.5])
    assert (long["value"] > 0).all()
    closed = long[(long["series"] == mc.component_label(1, 0.0)) & (long["kind"] == mc.CLOSED)]
    assert closed["t"].tolist() == [0]  # 0ᵗ = 0 after t = 0: not drawn


def _legends(spec) -> list[dict]:
    found = []
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "legend" and isinstance(value, dict):
                found.append(value)
            else:
                found.extend(_legends(value))
    elif isinstance(spec, list):
        for value in spec:
            found.extend(_legends(value))
    return found


@pytest.mark.parametrize("index", range(3))
def test_charts_are_valid_and_their_legends_sit_outside_the_plot(index):
    chart = _charts()[index]
    spec = chart.to_dict(validate=True)
    legends = _legends(spec)
    assert legends and all(legend.get("orient") == "bottom" for legend in legends)
    assert "'type': 'log'" in str(spec)  # log y
