"""AppTest for the Deep linear page (through app.py) and the two comparator sections of ui/comparators.py."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("app_test_pages")
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


def _page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()  # once first: the page has a custom url_path
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page("pages/deep_linear.py")
    return at.run()


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def _datasets(chart) -> list[pd.DataFrame]:
    """The chart's data as Streamlit sent it (Arrow IPC streams beside the spec)."""
    return [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]


def _surface_chart(at: AppTest):
    return next(c for c in at.get("vega_lite_chart") if "hyperbola" in str(json.loads(c.proto.spec)["title"]))


def _line_points(at: AppTest) -> list[tuple[float, float]]:
    """The (w1, w2) endpoints drawn on the surface chart."""
    ends = next(f for f in _datasets(_surface_chart(at)) if "what" in f and f["what"].str.startswith("start").any())
    return sorted(zip(ends["w1"].round(6), ends["w2"].round(6)))


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_page_renders_the_surface_the_line_and_the_metrics():
    at = _page()
    assert not _errors(at)
    assert "Deep linear regression" in [t.value for t in at.title]
    assert at.selectbox(key="dl_line").value == "small init → solution (Fig. 9)"
    titles = " ".join(str(s.get("title")) for s in _specs(at))
    assert "hyperbola" in titles and "closed form" in titles
    assert _line_points(at) == [(0.06, -0.04), (1.0, 1.0)]
    m = _metrics(at)
    assert m["Monotone on [0, 1]"] == "yes" and float(m["Numeric vs closed form"]) < 1e-12
    assert at.number_input(key="dl_from_w1").disabled


def test_switching_the_line_changes_the_charts_and_the_barrier():
    at = _page()
    before = [_datasets(c) for c in at.get("vega_lite_chart")]
    at.selectbox(key="dl_line").select("solution → solution (Fig. 10 left)").run()
    assert not _errors(at)
    after = [_datasets(c) for c in at.get("vega_lite_chart")]
    assert len(after) == len(before) == 2
    for old, new in zip(before, after):  # both charts got new data
        assert not all(a.equals(b) for a, b in zip(old, new))
    assert _line_points(at) == [(0.5, 2.0), (2.0, 0.5)]
    assert _metrics(at)["Barrier"] == "0.316" and _metrics(at)["Monotone on [0, 1]"] == "no"
    assert at.number_input(key="dl_from_w1").value == 2.0  # the inputs show the named line's endpoints


def test_a_link_opens_a_named_line_and_custom_endpoints_follow_the_inputs():
    at = _page({"dl_line": "large random point → solution (Fig. 10 right)"})
    assert not _errors(at) and _line_points(at) == [(-3.0, 2.5), (1.0, 1.0)]
    at.selectbox(key="dl_line").select("custom").run()
    assert not at.number_input(key="dl_from_w1").disabled
    at.number_input(key="dl_from_w1").set_value(-2.0).run()
    assert not _errors(at) and _line_points(at) == [(-2.0, 2.5), (1.0, 1.0)]
    at = _page({"dl_line": "custom", "dl_to_w1": "0.5", "dl_to_w2": "2"})
    assert _line_points(at) == [(0.06, -0.04), (0.5, 2.0)]


def test_an_empty_alpha_range_is_an_error_not_a_traceback():
    at = _page()
    at.number_input(key="dl_alpha_min").set_value(0.5).run()
    at.number_input(key="dl_alpha_max").set_value(0.25).run()
    assert not at.exception and any("α range" in e.value for e in at.error)


def _walk_section():
    from ui.comparators import random_walk_section

    random_walk_section()


def _convex_section():
    from ui.comparators import convex_section

    convex_section()


def test_random_walk_section_draws_and_refuses_bad_dims():
    at = AppTest.from_function(_walk_section, default_timeout=60)
    at.query_params["rw_dims"] = "2,50"
    at.query_params["rw_steps"] = "200"
    at.query_params["rw_solution"] = "150"
    at.run()
    assert not _errors(at)
    [spec] = _specs(at)
    assert [panel["title"] for panel in spec["concat"]] == ["d = 2", "d = 50"]
    [chart] = at.get("vega_lite_chart")
    assert [len(f) for f in _datasets(chart)] == [201, 201]
    assert "0.5" not in at.text_input(key="rw_dims").value
    at.text_input(key="rw_dims").input("2,x").run()
    assert not at.exception and any("whole numbers" in e.value for e in at.error)
    assert not at.get("vega_lite_chart")


def test_convex_section_draws_flags_divergence_and_refuses_bad_settings():
    at = AppTest.from_function(_convex_section, default_timeout=60)
    at.query_params["cx_dim"] = "500"
    at.query_params["cx_settings"] = "0.5:0,0.1:0.9,2.5:0"
    at.run()
    assert not _errors(at)
    assert _metrics(at)["Condition number κ"] == "100"
    assert _metrics(at)["Settings that converged"] == "2 of 3"
    assert any("ε=2.5, μ=0" in w.value for w in at.warning)
    [chart] = at.get("vega_lite_chart")
    drawn = set(pd.concat(_datasets(chart))["setting"])
    assert drawn == {"ε=0.5, μ=0", "ε=0.1, μ=0.9"}
    at.text_input(key="cx_settings").input("0.1:1").run()
    assert not at.exception and any("momentum" in e.value for e in at.error)
