"""Presenter mode: ?present=true hides the sidebar and the downloads and styles every chart for a projector."""

from __future__ import annotations

import os

import altair as alt
import pandas as pd
from streamlit.testing.v1 import AppTest

from core.charts import training as charts
from ui import presenter

APP = os.path.join(os.path.dirname(__file__), "..", "app.py")


def test_the_presenter_style_is_merged_into_a_chart(monkeypatch):
    metrics = pd.DataFrame({"step": [0, 10], "train_error": [0.5, 0.1], "val_error": [0.6, 0.2]})
    spec = charts.error_chart(metrics).to_dict()
    monkeypatch.setattr(presenter, "on", lambda: False)
    assert presenter.configure(spec) is spec
    monkeypatch.setattr(presenter, "on", lambda: True)
    config = presenter.configure(spec)["config"]
    assert config["title"]["fontSize"] >= 20 and config["axis"]["labelFontSize"] >= 14
    assert config["axis"]["labelColor"] == presenter.DARK and config["legend"]["orient"] == "bottom"
    assert spec.get("config", {}).get("title", {}).get("fontSize") != 22  # the chart itself is untouched


def test_legends_sit_outside_the_plots():
    metrics = pd.DataFrame({"step": [0, 10], "train_loss": [1.0, 0.5], "val_loss": [1.1, 0.6],
                            "train_error": [0.5, 0.1], "val_error": [0.6, 0.2]})
    for chart in (charts.error_chart(metrics), charts.loss_chart(metrics)):
        assert '"orient": "top-right"' not in alt.Chart.to_json(chart)


def test_present_true_in_the_link_turns_it_on_and_offers_the_way_back(app_test_pages):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["present"] = "true"
    at.run()
    assert not at.exception and at.session_state["present"] is True
    at.button(key="present_leave").click().run()
    assert at.session_state["present"] is False and not at.exception
