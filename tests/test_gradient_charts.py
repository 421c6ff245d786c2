"""The Gradients page's charts (core/charts/gradients.py): valid Vega-Lite, the numbers they draw equal the tables'
own, the 1/√m reference is exactly a slope of −0.5 on log-log axes, and every legend sits outside the plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.charts import gradients as gc
from core.probes.gradient_noise import NOISE_COLUMNS

N = 800
RATIO = 11.0  # tr Σ / ‖g‖²


def _table(sizes=(1, 4, 16, 64, 256, N)) -> pd.DataFrame:
    """A noise table whose prediction follows sampling theory exactly, and measured numbers near it."""
    m = np.array(sizes, dtype=float)
    predicted = np.sqrt(RATIO / m * (N - m) / (N - 1))
    table = pd.DataFrame({"batch_size": list(sizes), "relative_error_mean": 0.8 * predicted,
                          "relative_error_std": 0.3 * predicted, "cosine_mean": np.minimum(1, 0.1 + m / 300),
                          "cosine_std": np.where(m < N, 0.4, 0.0), "predicted": predicted,
                          "relative_error_rms": 0.95 * predicted})
    return table[NOISE_COLUMNS]


def _signal() -> pd.DataFrame:
    rows = [(s, layer, 0.5 * s**0.1 * layer**0.2, s ** (11 - layer) * 1e-3) for s in (0.5, 1.0, 2.0, 8.0)
            for layer in range(1, 12)]
    return pd.DataFrame(rows, columns=["scale", "layer", "activation_std", "grad_norm"])


def _metrics() -> pd.DataFrame:
    return pd.DataFrame({"step": [0, 50, 100, 150], "train_loss": [0.7, 0.4, 0.3, 0.2],
                         "grad_cosine": [np.nan, 0.9, -0.2, 0.5], "grad_rel_error": [np.nan, 0.5, 3.0, 1.2]})


def _charts():
    table = _table()
    return [gc.error_chart(table, N), gc.cosine_chart(table, N), gc.live_cosine_chart(_metrics()),
            gc.live_error_chart(_metrics()), gc.signal_chart(_signal(), "activation_std"),
            gc.signal_chart(_signal(), "grad_norm")]


def _layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def test_every_chart_is_valid_vega_lite():
    for chart in _charts():
        chart.to_dict(validate=True)


def test_the_reference_line_has_slope_exactly_minus_one_half_on_log_log_axes():
    frame = gc.error_frame(_table(), N)
    ref = frame[frame["series"] == gc.REFERENCE]
    assert len(ref) > 10
    slope, _ = np.polyfit(np.log(ref["batch_size"]), np.log(ref["value"]), 1)
    assert slope == pytest.approx(-0.5, abs=1e-12)
    # every pair of its points, not only the fit: log(value) + ½·log(m) is one constant, ½·log(tr Σ/‖g‖²)
    np.testing.assert_allclose(np.log(ref["value"]) + 0.5 * np.log(ref["batch_size"]), 0.5 * np.log(RATIO))
    spec = gc.error_chart(_table(), N).to_dict()
    for layer in _layers(spec):
        assert layer["encoding"]["x"]["scale"]["type"] == "log" and layer["encoding"]["y"]["scale"]["type"] == "log"


def test_the_error_chart_draws_the_tables_numbers_and_leaves_out_m_equal_n():
    table = _table()
    frame = gc.error_frame(table, N)
    assert gc.variance_ratio(table, N) == pytest.approx(RATIO)
    mean = frame[frame["series"] == gc.MEAN].set_index("batch_size")["value"]
    rms = frame[frame["series"] == gc.RMS].set_index("batch_size")["value"]
    below = table[table["batch_size"] < N].set_index("batch_size")
    np.testing.assert_allclose(mean.to_numpy(), below["relative_error_mean"].to_numpy())
    np.testing.assert_allclose(rms.to_numpy(), below["relative_error_rms"].to_numpy())
    assert N not in frame["batch_size"].to_numpy()  # error 0: a log axis cannot draw it, the subtitle says so
    theory = frame[frame["series"] == gc.THEORY].set_index("batch_size")["value"]
    assert theory.index.min() == 1 and theory.index.max() == 256  # the grid spans the measured batch sizes
    assert theory[1.0] == pytest.approx(below.loc[1, "predicted"]) and theory[256.0] == pytest.approx(
        below.loc[256, "predicted"])
    ref = frame[frame["series"] == gc.REFERENCE].set_index("batch_size")["value"]
    assert ref[1.0] == pytest.approx(theory[1.0])  # the two meet at m = 1 ...
    assert ref[256.0] > theory[256.0]  # ... and part as m nears N
    assert f"m = N = {N:,}" in str(gc.error_chart(table, N).to_dict()["title"])


def test_the_cosine_band_stays_inside_minus_one_and_one():
    frame = gc.cosine_frame(_table())
    assert (frame["lo"] >= -1).all() and (frame["hi"] <= 1).all()
    assert frame.set_index("batch_size").loc[N, "cosine"] == 1.0


def test_every_legend_sits_outside_the_plot():
    for chart in _charts():
        spec = chart.to_dict()
        for layer in _layers(spec):
            for channel in ("color", "strokeDash", "fill"):
                legend = layer.get("encoding", {}).get(channel, {}).get("legend")
                if legend:  # a legend drawn: below the plot, with room for its labels
                    assert legend["orient"] == "bottom" and legend.get("labelLimit", 0) >= 300


def test_the_signal_chart_draws_one_line_per_scale_with_the_output_layer_named():
    spec = gc.signal_chart(_signal(), "grad_norm").to_dict()
    assert spec["encoding"]["y"]["scale"]["type"] == "log"
    assert "'out'" in spec["encoding"]["x"]["axis"]["labelExpr"] and "11" in spec["encoding"]["x"]["axis"]["labelExpr"]
    assert spec["encoding"]["color"]["scale"]["domain"] == ["s = 0.5", "s = 1", "s = 2", "s = 8"]


def test_the_live_charts_draw_only_the_rows_that_have_the_columns():
    assert gc.live_frame(_metrics())["step"].tolist() == [50, 100, 150]
    assert gc.live_frame(pd.DataFrame({"step": [0, 5], "train_loss": [1.0, 0.5]})).empty  # a run from before
    gc.live_error_chart(pd.DataFrame({"step": [0, 5], "train_loss": [1.0, 0.5]})).to_dict(validate=True)
