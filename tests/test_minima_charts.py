"""The Minima page's charts: valid Vega-Lite, and the numbers they draw equal the tables' own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.charts import minima as mc


def _data(chart) -> list[pd.DataFrame]:
    """The data frames of a (layered) chart, as Altair holds them (layers sharing one frame hold it at the top)."""
    parts = [chart, *(chart.layer if hasattr(chart, "layer") and chart.layer else [])]
    return [p.data for p in parts if isinstance(p.data, pd.DataFrame)]


def _sweep() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [{"width": w, "seed": s, "final_train_loss": float(rng.uniform(1e-3, 0.7)),
             "final_train_error": 0.0 if (s + w) % 3 else 0.1, "fits": bool((s + w) % 3)}
            for w in (0, 1, 2, 4, 8) for s in range(6)]
    return pd.DataFrame(rows)


def test_every_chart_is_valid_vega_lite():
    table = pd.DataFrame({"a": [0.1, 1.0, 10.0], "max_output_difference": [1e-6, 0, 2e-6], "norm": [5.0, 2.0, 8.0],
                          "lambda_max": [9.0, 1.5, 30.0]})
    barriers = pd.DataFrame({"width": [4, 4, 8, 8], "seed_a": [0, 0, 0, 0], "seed_b": [1, 2, 1, 2],
                             "barrier_before": [1.0, 0.8, 0.5, 0.4], "barrier_after": [0.3, 0.1, 0.02, 0.0],
                             "loss_a": 0.1, "loss_b": 0.1})
    for chart in (mc.rescale_chart(table, 10.0), mc.restarts_chart(_sweep()), mc.fits_chart(_sweep()),
                  mc.losses_chart(_sweep()), mc.barrier_width_chart(barriers)):
        chart.to_dict(validate=True)


def test_the_rescale_chart_draws_ratios_to_the_run_itself():
    table = pd.DataFrame({"a": [0.1, 1.0, 10.0], "max_output_difference": [1e-6, 0, 2e-6], "norm": [5.0, 2.0, 8.0],
                          "lambda_max": [9.0, 1.5, 30.0]})
    lines = _data(mc.rescale_chart(table, 10.0))[0]
    lam = lines[lines["quantity"].str.startswith("λ_max")].set_index("a")["ratio"]
    assert lam[1.0] == 1.0 and lam[10.0] == pytest.approx(20.0) and lam[0.1] == pytest.approx(6.0)
    assert "2e-06" in str(mc.rescale_chart(table, 10.0).to_dict()["title"])


def test_the_restart_histogram_counts_every_restart_once():
    frame = _sweep()
    bins = _data(mc.restarts_chart(frame))[0]
    assert bins["restarts"].sum() == len(frame)
    assert bins.groupby("outcome")["restarts"].sum().to_dict() == {"fits": int(frame.fits.sum()),
                                                                  "does not fit": int((~frame.fits).sum())}
    same = frame.assign(final_train_loss=0.45)  # logistic regression: every restart at one loss
    assert _data(mc.restarts_chart(same))[0]["restarts"].tolist() == [int(frame.fits.sum()), int((~frame.fits).sum())]


def test_the_fits_chart_draws_each_widths_share():
    frame = _sweep()
    bars = _data(mc.fits_chart(frame))[0]
    expected = frame.groupby("width")["fits"].mean()
    assert bars.set_index("width")["share"].to_dict() == pytest.approx(expected.to_dict())
    assert bars["label"].tolist()[0] == "0 (logistic)"
    assert bars["text"].tolist()[1] == f"{frame[frame.width == 1].fits.sum()}/6"


def test_the_barrier_chart_joins_the_medians():
    barriers = pd.DataFrame({"width": [4, 4, 4, 8, 8, 8], "seed_a": 0, "seed_b": [1, 2, 3, 1, 2, 3],
                             "barrier_before": [1.0, 0.8, 0.2, 0.5, 0.4, 0.3],
                             "barrier_after": [0.3, 0.1, 0.2, 0.02, 0.0, 0.01], "loss_a": 0.1, "loss_b": 0.1})
    medians = _data(mc.barrier_width_chart(barriers))[1].set_index(["width", "when"])["barrier"]
    assert medians[(4, "before matching")] == 0.8 and medians[(8, "after matching")] == 0.01
