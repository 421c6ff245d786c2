"""A regression shown as regression: RMSE labels, the fit of a 1-D regression drawn live, claims that do not apply."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from core import claims, presets
from core.charts import training as charts
from core.model import records
from core.model.config import TrainConfig
from core.model.networks import forward
from core.probes.boundary import draws_fit, fit_grid, fit_points
from core.train.run import Run
from core.train.worker import RunWorker

pytestmark = pytest.mark.usefixtures("one_torch_thread")
APP = str(Path(__file__).resolve().parents[1] / "app.py")
SINE = {"dataset": "sine", "n_samples": 300, "hidden": [16, 16], "activation": "tanh", "optimizer": "adam",
        "lr": 0.01, "batch_size": 32, "steps": 150, "device": "cpu"}


@pytest.fixture(scope="module")
def sine_run() -> Run:
    run = Run(TrainConfig(**SINE))
    run.train()
    return run


def _layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def _metrics() -> pd.DataFrame:
    return pd.DataFrame({"step": [0, 10, 20], "train_loss": [0.6, 0.3, 0.1], "val_loss": [0.7, 0.35, 0.15],
                         "train_error": [0.77, 0.55, 0.32], "val_error": [0.84, 0.59, 0.39]})


# ---- the fit --------------------------------------------------------------------------------------------------------
def test_the_fit_grid_is_a_direct_forward_pass_over_the_points_with_a_margin(sine_run):
    data = sine_run.data
    assert data.task == "regression" and draws_fit(data)
    grid = fit_grid(sine_run.spec, sine_run.theta, data.x_train)
    assert len(grid) == 200 and (grid["kind"] == "prediction").all()
    lo, hi = float(data.x_train.min()), float(data.x_train.max())
    assert grid["x"].iloc[0] == pytest.approx(lo - 0.05 * (hi - lo), rel=1e-5)
    assert grid["x"].iloc[-1] == pytest.approx(hi + 0.05 * (hi - lo), rel=1e-5)
    x = torch.linspace(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo), 200)[:, None]
    direct = forward(sine_run.spec, sine_run.spec.split(sine_run.theta), x)[:, 0].numpy()
    np.testing.assert_allclose(grid["y"].to_numpy(), direct, rtol=1e-6, atol=1e-6)
    points = fit_points(data.x_train, data.y_train)
    np.testing.assert_array_equal(points["y"].to_numpy(), data.y_train.numpy())


def test_the_fit_chart_draws_the_points_and_the_prediction_line(sine_run):
    frame = pd.concat([fit_points(sine_run.data.x_train, sine_run.data.y_train),
                       fit_grid(sine_run.spec, sine_run.theta, sine_run.data.x_train)], ignore_index=True)
    spec = charts.fit_chart(frame).to_dict()
    dots, line = _layers(spec)
    assert dots["mark"]["type"] == "circle" and line["mark"]["type"] == "line"
    assert len(spec["datasets"][dots["data"]["name"]]) == len(sine_run.data.y_train)
    assert len(spec["datasets"][line["data"]["name"]]) == 200
    assert spec["title"] == charts.FIT_TITLE and "prediction" in spec["title"]
    only_points = charts.fit_chart(frame[frame["kind"] == "training point"], "The data").to_dict()
    assert only_points["title"] == "The data"


def test_the_worker_snapshot_carries_the_task_and_the_fit(sine_run):
    worker = RunWorker(Run(TrainConfig(**{**SINE, "steps": 20})))
    kind, snap = worker.handle("snapshot", None)
    assert kind == "ok" and snap["task"] == "regression" and snap["regions"] is None
    fit = snap["fit"]
    assert set(fit["kind"]) == {"training point", "prediction"} and (fit["kind"] == "prediction").sum() == 200
    worker.handle("step", None)
    moved = worker.handle("snapshot", None)[1]["fit"]
    assert not np.allclose(moved.loc[moved.kind == "prediction", "y"], fit.loc[fit.kind == "prediction", "y"])
    moons = RunWorker(Run(TrainConfig(steps=5, device="cpu"))).handle("snapshot", None)
    assert moons[1]["task"] == "classification" and moons[1]["fit"] is None


# ---- RMSE, not error rates ------------------------------------------------------------------------------------------
def _texts(spec: dict) -> str:
    return str(spec)


def test_regression_charts_say_rmse_and_mean_squared_error_as_numbers():
    error = charts.error_chart(_metrics(), regression=True).to_dict()
    assert error["encoding"]["y"]["title"] == "RMSE" and "RMSE" in error["title"]
    assert "format" not in error["encoding"]["y"].get("axis", {})  # a number, not a percentage
    assert all(t.get("format") != ".1%" for t in error["encoding"]["tooltip"])
    assert "classification" not in _texts(error).lower()
    loss = charts.loss_chart(_metrics(), regression=True).to_dict()
    assert loss["encoding"]["y"]["title"].startswith("mean squared error") and "cross-entropy" not in _texts(loss)
    classification = charts.error_chart(_metrics()).to_dict()
    assert classification["encoding"]["y"]["axis"]["format"] == ".0%"
    curve = _metrics().rename(columns={"step": "alpha"}).assign(alpha=[0.0, 0.5, 1.0])
    line = charts.interpolation_chart(curve, "error", regression=True).to_dict()
    assert line["layer"][0]["encoding"]["y"]["title"] == "RMSE"
    many = charts.curves_chart(curve.assign(curve="a"), "error", regression=True).to_dict()
    assert many["layer"][0]["encoding"]["y"]["title"] == "RMSE" and "%" not in _texts(many["layer"][0]["encoding"])
    loss_line = charts.curves_chart(curve.assign(curve="a"), regression=True).to_dict()
    assert "mean squared error" in loss_line["layer"][0]["encoding"]["y"]["title"]


# ---- claims ---------------------------------------------------------------------------------------------------------
def test_claims_about_error_rates_do_not_apply_to_a_regression(sine_run):
    pair = [records.from_run(sine_run, f"#{k} sine") for k in (1, 2)]
    fig2 = presets.get("fig2-sigmoid-relu")
    ev = presets.evidence(fig2, pair)
    assert ev.task == "regression"
    verdicts = claims.check(fig2.claims, ev)
    skipped = [v for v in verdicts if not v.applies]
    assert {v.claim.measure for v in skipped} == {"final_gap", "chance_share"}
    assert all(math.isnan(v.value) and v.line.startswith("does not apply to a regression · ") for v in skipped)
    assert all(v.applies and v.holds for v in verdicts if v.claim.measure == "line_metric")  # the loss line
    restarts = claims.check(claims.RESTART_CLAIMS, claims.Evidence(task="regression"))
    assert not any(v.applies for v in restarts)  # fitting every point: a classification's notion


def test_a_ratio_of_errors_holds_for_rmse_and_says_rmse():
    fig81 = presets.get("dl-fig8-1-gradient-norm")
    claim = next(c for c in fig81.claims if c.measure == "val_error_drop")
    metrics = pd.DataFrame({"step": [0, 50, 1000], "val_error": [0.9, 0.8, 0.2]})  # RMSE values
    (regression,) = claims.check([claim], presets.monitor_evidence(metrics, None, None, task="regression"))
    assert regression.applies and regression.holds and "RMSE" in regression.claim.text
    (classification,) = claims.check([claim], presets.monitor_evidence(metrics, None, None))
    assert "RMSE" not in classification.claim.text and classification.value == regression.value


def test_classification_runs_keep_every_claim():
    record = records.from_run(Run(TrainConfig(steps=5, device="cpu")), "#1")
    assert claims.records_task([record]) == "classification"
    for preset in presets.PRESETS.values():
        assert all(c.applies_to("classification") for c in preset.claims)


# ---- the Train page -------------------------------------------------------------------------------------------------
@pytest.mark.usefixtures("app_test_pages")
def test_the_train_page_on_sine_draws_the_fit_and_says_rmse():
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/train.py").run()
    at.selectbox(key="dataset").set_value("sine").run()
    preview = " ".join(str(c.proto.spec) for c in at.get("vega_lite_chart"))
    assert "The data: sine" in preview and "training point" in preview
    at.number_input(key="steps").set_value(150).run()
    at.button(key="train_start").click().run()
    live = at.session_state["live_run"]
    deadline = time.monotonic() + 60
    while live.training and time.monotonic() < deadline:
        time.sleep(0.05)
    at.run()
    assert not at.exception and not at.error, [str(e.value) for e in (*at.exception, *at.error)]
    assert live.touch().status == "done"
    specs = " ".join(str(c.proto.spec) for c in at.get("vega_lite_chart"))
    for words in ("The fit (training points and the network", "RMSE (root mean squared error)", "mean squared error"):
        assert words in specs
    assert "Classification error" not in specs and "cross-entropy" not in specs and "Decision regions" not in specs
    at.switch_page("pages/interpolation.py").run()  # the Train page's run is listed there: its error is an RMSE
    at.radio(key="ip_quantity").set_value("error").run()
    specs = " ".join(str(c.proto.spec) for c in at.get("vega_lite_chart"))
    assert not at.exception and "RMSE along the line" in specs and "classification error" not in specs
