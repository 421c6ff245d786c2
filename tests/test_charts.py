"""Chart specs through to_dict(): marks, encodings, tooltips, thinning, and what they compute."""

import numpy as np
import pandas as pd

from core import frames
from core.charts import export
from core.charts import training as charts
from core.train import summaries


def _layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def _metrics(n=5):
    return pd.DataFrame({"step": np.arange(n) * 10, "train_loss": np.linspace(1, 0.1, n),
                         "val_loss": np.linspace(1.1, 0.3, n), "train_error": np.linspace(0.5, 0, n),
                         "val_error": np.linspace(0.5, 0.1, n), "param_norm": np.linspace(1, 2, n),
                         "step_length": [np.nan] + [0.1] * (n - 1)})


def test_grad_norm_chart_thins_points_but_averages_all_of_them():
    n = 7001
    points = pd.DataFrame({"step": np.arange(1, n + 1), "grad_norm": np.random.default_rng(0).random(n)})
    spec = charts.grad_norm_chart(summaries.grad_norm_points(points, window=50), window=50).to_dict()
    faint, line = _layers(spec)
    assert faint["mark"]["type"] == "circle" and faint["mark"]["opacity"] < 0.5
    assert line["mark"]["type"] == "line"
    rows = spec["datasets"][spec["data"]["name"]] if "data" in spec else spec["datasets"][faint["data"]["name"]]
    assert len(rows) <= frames.MAX_POINTS
    naive = [points["grad_norm"].iloc[max(0, i - 49): i + 1].mean() for i in range(n)]
    for row in rows:
        assert np.isclose(row["average"], naive[row["step"] - 1])
    assert any(t.get("field") == "grad_norm" for t in faint["encoding"]["tooltip"])


def test_error_and_loss_charts_draw_train_and_validation_with_tooltips():
    for chart in (charts.error_chart(_metrics()), charts.loss_chart(_metrics(), log_y=True)):
        spec = chart.to_dict()
        data = next(iter(spec["datasets"].values()))
        assert {r["split"] for r in data} == {"train", "validation"}
        assert spec["encoding"]["tooltip"] and spec["encoding"]["x"]["field"] == "step"
    assert charts.loss_chart(_metrics(), log_y=True).to_dict()["encoding"]["y"]["scale"]["type"] == "log"


def test_non_finite_values_are_not_drawn():
    m = _metrics()
    m.loc[2, "train_loss"] = np.inf
    m.loc[3, "val_loss"] = np.nan
    data = next(iter(charts.loss_chart(m).to_dict()["datasets"].values()))
    assert len(data) == 2 * len(m) - 2 and all(np.isfinite(r["loss"]) for r in data)


def test_interpolation_chart_marks_both_endpoints():
    curve = pd.DataFrame({"alpha": [-0.5, 0, 0.5, 1, 1.5], "train_loss": [2, 1, 0.5, 0.2, 0.4],
                          "val_loss": [2, 1, 0.6, 0.3, 0.5], "train_error": [.5] * 5, "val_error": [.5] * 5})
    spec = charts.interpolation_chart(curve).to_dict()
    lines, rules = _layers(spec)
    assert rules["mark"]["type"] == "rule"
    assert sorted(r["alpha"] for r in spec["datasets"][rules["data"]["name"]]) == [0.0, 1.0]
    assert lines["encoding"]["x"]["field"] == "alpha"


def test_straying_chart_orders_the_path_by_step():
    frame = pd.DataFrame({"step": [0, 5, 10], "projection": [0, 1, 2], "residual": [0, 0.5, 0],
                          "param_norm": [1, 2, 3]})
    path, dots = _layers(charts.straying_chart(frame).to_dict())
    assert path["encoding"]["order"]["field"] == "step"
    assert {t["field"] for t in dots["encoding"]["tooltip"]} >= {"step", "projection", "residual"}


def test_boundary_and_norms_charts_have_tooltips():
    grid = pd.DataFrame({"x": [0, 1, 0, 1], "y": [0, 0, 1, 1], "prediction": [0, 1, 0, 1],
                         "confidence": [0.9, 0.8, 0.7, 0.6]})
    pts = pd.DataFrame({"x": [0.1], "y": [0.2], "label": [1]})
    cells, dots = _layers(charts.boundary_chart(grid, pts).to_dict())
    assert cells["mark"]["type"] == "rect" and cells["encoding"]["tooltip"] and dots["encoding"]["tooltip"]
    assert charts.norms_chart(_metrics()).to_dict()["encoding"]["y"]["scale"]["type"] == "log"


def test_png_and_svg_export():
    chart = charts.error_chart(_metrics())
    assert export.to_png(chart).startswith(b"\x89PNG")
    assert "<svg" in export.to_svg(chart)


def test_long_histories_are_thinned_for_drawing_keeping_both_ends():
    m = _metrics(5000)
    data = next(iter(charts.error_chart(m).to_dict()["datasets"].values()))
    steps = sorted({r["step"] for r in data})
    assert len(steps) <= frames.MAX_ROWS and steps[0] == 0 and steps[-1] == m["step"].iloc[-1]
    assert charts.error_chart(_metrics(10)).to_dict()["mark"]["point"]  # short lines keep their markers


def test_grad_norm_points_of_an_empty_run_is_empty():
    empty = pd.DataFrame({"step": [], "grad_norm": [], "batch_loss": []})
    assert summaries.grad_norm_points(empty).empty
    assert charts.grad_norm_chart(summaries.grad_norm_points(empty)).to_dict()


def test_the_split_legend_lists_only_the_splits_drawn():
    """Fig. 4 draws the train split alone: its legend must not offer 'validation'."""
    frame = pd.DataFrame({"curve": "a", "alpha": [0.0, 1.0], "train_loss": [2.0, 0.1], "val_loss": [2.1, 0.2],
                          "train_error": [0.9, 0.0], "val_error": [0.9, 0.1]})
    spec = charts.curves_chart(frame, splits=("train",)).to_dict()
    dash = spec["layer"][0]["encoding"]["strokeDash"]["scale"]
    assert dash["domain"] == ["train"] and dash["range"] == [[1, 0]]
    both = charts.curves_chart(frame).to_dict()["layer"][0]["encoding"]["strokeDash"]["scale"]
    assert both["domain"] == ["train", "validation"]


def test_a_gif_has_one_frame_per_chart_on_one_canvas():
    import io

    from PIL import Image

    metrics = pd.DataFrame({"step": np.arange(0, 100, 10), "train_error": np.linspace(0.9, 0.1, 10),
                            "val_error": np.linspace(0.9, 0.2, 10)})
    frames = export.growth(charts.error_chart, metrics, frames=4)
    assert len(frames) == 4 and frames[-1].to_dict()["datasets"]  # the last frame holds the whole run
    gif = Image.open(io.BytesIO(export.to_gif(frames, seconds_per_frame=0.1)))
    assert gif.format == "GIF" and gif.n_frames == 4
    assert export.frame_steps(10, 30) == list(range(11)) and export.frame_steps(1000, 5) == [0, 250, 500, 750, 1000]


def test_step_axes_show_whole_steps_even_for_a_run_at_step_zero():
    """After Reset a run has one row, at step 0: its axis must read 0, not 0.000000; nor 0.5 on a short run."""
    import re

    def labels(rows: int) -> set[str]:
        m = pd.DataFrame({"step": range(rows), "train_error": [0.5] * rows, "val_error": [0.5] * rows})
        svg = export.to_svg(charts.error_chart(m))
        return set(re.findall(r">([0-9.,]+)</text>", svg)) - {"0.5"}  # minus the y axis' 50%

    assert "0.000000" not in labels(1) and "0" in labels(1)
    assert {"0", "1", "2", "3"} <= labels(4) and not any("." in x for x in labels(4))
