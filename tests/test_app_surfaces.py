"""AppTest for the Surfaces page: the race with its readouts, another surface, a bad setting, random restarts."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("app_test_pages")
PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "surfaces.py")


def _page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


def _chart(at: AppTest, words: str):
    return next(c for c in at.get("vega_lite_chart") if words in json.dumps(json.loads(c.proto.spec).get("title")))


def _datasets(chart) -> list[pd.DataFrame]:
    return [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]


def _paths(at: AppTest) -> pd.DataFrame:
    """The path rows drawn on the map (the dataset with an optimizer column and the most rows)."""
    frames = [f for f in _datasets(_chart(at, "paths")) if "optimizer" in f]
    return max(frames, key=len)


def test_defaults_race_three_optimizers_on_rosenbrock_and_read_out_the_point():
    at = _page()
    assert not _errors(at) and not at.warning
    assert at.selectbox(key="sf_surface").value == "rosenbrock"
    paths = _paths(at)
    assert list(dict.fromkeys(paths["optimizer"])) == ["momentum", "adam", "newton"]
    first = paths[paths["step"] == 0]
    assert set(zip(first["x"], first["y"])) == {(-1.2, 1.0)}
    assert at.slider(key="sf_step").value == 1000
    text = " ".join(m.value for m in at.markdown)
    assert "Hessian eigenvalues" in text and "momentum" in text
    _chart(at, "f along each path")


def test_scrubbing_the_step_cuts_the_paths():
    at = _page()
    at.slider(key="sf_step").set_value(3).run()
    assert not _errors(at)
    assert _paths(at)["step"].max() == 3
    assert "at step 3" in json.loads(_chart(at, "paths").proto.spec)["title"]


def test_the_saddle_shows_newton_on_the_saddle_and_warns_about_paths_that_leave():
    at = _page()
    at.selectbox(key="sf_surface").select("saddle").run()
    assert not at.exception and not at.error
    assert (at.number_input(key="sf_x").value, at.number_input(key="sf_y").value) == (-1.5, 0.1)
    assert any("left the map" in w.value for w in at.warning)
    at.selectbox(key="sf_readout").select("newton").run()
    text = " ".join(m.value for m in at.markdown)
    assert "a **saddle**" in text and "(0, 0)" in text


def test_a_typed_start_moves_every_path():
    at = _page({"sf_surface": "bowl"})
    assert at.number_input(key="sf_condition").value == 10.0
    at.number_input(key="sf_x").set_value(1.0).run()
    at.number_input(key="sf_y").set_value(-2.0).run()
    assert not _errors(at)
    first = _paths(at).query("step == 0")
    assert set(zip(first["x"], first["y"])) == {(1.0, -2.0)}


def test_a_bad_row_in_the_table_is_an_error_not_a_traceback():
    at = _page()
    key = "sf_table_rosenbrock"
    at.session_state[key] = {"edited_rows": {"1": {"lr": -1.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception and any("learning rate of 'momentum'" in e.value for e in at.error)


def test_no_optimizer_ticked_is_an_error_not_a_traceback():
    at = _page()
    at.session_state["sf_table_rosenbrock"] = {"edited_rows": {str(i): {"race": False} for i in (1, 3, 4)},
                                               "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception and any("at least one optimizer" in e.value for e in at.error)


def test_restarts_on_himmelblau_reach_its_minima():
    at = _page({"sf_mode": "restarts", "sf_surface": "himmelblau", "sf_r_n": "30"})
    assert not _errors(at)
    labels = {m.label: m.value for m in at.metric}
    hit, total = labels["Reached the global minimum"].split(" of ")
    assert total == "30" and int(hit) >= 25
    ends = next(f for f in _datasets(_chart(at, "random starts")) if "end" in f)
    assert len(ends) == 30 and ends["end"].nunique() == 4
    _chart(at, "Final values")


def test_the_race_becomes_an_animated_gif_for_a_slide():
    at = _page({"sf_steps": "40"})
    at.button(key="sf_gif_make").click().run()
    assert not _errors(at)
    gif = at.session_state["gif_cache"]["sf_gif"]
    assert gif[:6] in (b"GIF87a", b"GIF89a") and len(gif) > 1000
