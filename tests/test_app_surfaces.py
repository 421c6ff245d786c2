"""AppTest for the Surfaces page: the race with its readouts, another surface, a bad setting, random restarts."""

from __future__ import annotations

import json
import re
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


def _title(at: AppTest) -> str:
    """The map's title as the browser shows it: a plain string, or an expression reading the step from its data."""
    chart = _chart(at, "paths")
    title = json.loads(chart.proto.spec)["title"]
    if isinstance(title, str):
        return title
    expr = title["text"]["expr"]
    head = json.loads(expr[:expr.index('" + ') + 1])
    name, column = re.search(r"data\('([^']+)'\)\[0\]\.(\w+)", expr).groups()
    data = next(pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets if d.name == name)
    return f"{head}{int(data[column].iloc[0]):,}"


def _step_slider(at: AppTest):
    return next(s for s in at.main.get("slider") if s.label == "Step")


def _readout(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "Hessian eigenvalues" in m.value)


def _shown(at: AppTest) -> tuple[int, int, int]:
    """The step of the slider, of the map's title and of the readouts."""
    def step(text: str) -> int:
        return int(re.search(r"at step ([\d,]+)", text).group(1).replace(",", ""))
    return int(_step_slider(at).value), step(_title(at)), step(_readout(at))


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
    assert _title(at).endswith("paths at step 3")
    assert _shown(at) == (3, 3, 3)


def test_while_playing_the_slider_the_title_and_the_readouts_show_the_frame_being_drawn():
    at = _page()  # Rosenbrock, 1,000 steps: 25 a frame
    at.toggle(key="sf_play").set_value(True).run()  # at the end: starts over
    assert not _errors(at)
    assert _shown(at) == (25, 25, 25)
    at.run()  # the next tick
    assert _shown(at) == (50, 50, 50)
    # A tick queued before the last frame reached the browser carries the slider's older value; the animation
    # goes on from the frame drawn, not from it (it used to replay frames, the slider a frame behind the rest).
    at.session_state["sf_step"] = 25
    at.run()
    assert _shown(at) == (75, 75, 75)
    at.toggle(key="sf_play").set_value(False).run()  # pause: the slider stays at the frame on screen
    assert _shown(at) == (75, 75, 75)
    assert at.slider(key="sf_step").value == 75 and not at.slider(key="sf_step").disabled


def test_playing_to_the_end_stops_there_and_play_starts_over():
    at = _page({"sf_steps": "40"})
    at.slider(key="sf_step").set_value(30).run()
    at.toggle(key="sf_play").set_value(True).run()  # from the slider's step
    assert _shown(at)[0] == 31
    for _ in range(20):
        if not at.toggle(key="sf_play").value:
            break
        at.run()
    assert not at.toggle(key="sf_play").value and _shown(at) == (40, 40, 40)
    at.toggle(key="sf_play").set_value(True).run()
    assert _shown(at) == (1, 1, 1)


def test_the_readouts_of_a_path_that_stopped_name_the_slider_step_and_where_it_stopped():
    at = _page()
    at.selectbox(key="sf_surface").select("saddle").run()
    stopped = next(w.value for w in at.warning if "left the map" in w.value).split("**")[1]
    at.selectbox(key="sf_readout").select(stopped).run()
    slider, title, readout = _shown(at)
    assert slider == title == readout == at.number_input(key="sf_steps").value
    assert re.search(r"\(stopped at step \d+\)", _readout(at))


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
