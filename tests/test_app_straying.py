"""AppTest for the Straying page (a run, random walks, the convex problem) and the presets of the paper pages."""

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import presets

pytestmark = pytest.mark.usefixtures("app_test_pages")
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


def _page(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(page)
    return at.run()




def test_straying_page_without_runs_explains_and_offers_the_comparators():
    at = _page("pages/straying.py")
    assert not _errors(at)
    assert any("No runs yet" in i.value for i in at.info)
    assert at.session_state["st_view"] == "run"


def test_fig13_preset_trains_a_run_and_checks_the_two_thirds_claim(monkeypatch, drain_queue):
    tiny = {**presets.MAXOUT, "steps": 60, "hidden": [16]}
    p = presets.PRESETS["fig13-straying"]
    monkeypatch.setitem(presets.PRESETS, p.name, presets.Preset(p.name, p.figure, p.title, p.caption, p.page,
                                                                (tiny,), p.view))
    at = _page("pages/straying.py", {"preset": "fig13-straying"})
    drain_queue(at)
    assert not _errors(at)
    assert at.selectbox(key="st_run").value == "#1 maxout [16] seed 0"
    titles = " ".join(str(c.proto.spec) for c in at.get("vega_lite_chart"))
    assert "Straying from the straight path" in titles and "Share of" in titles
    labels = {m.label: m.value for m in at.metric}
    assert labels["Line keeps ≥ 2/3 of ‖θ_t‖"] in ("yes", "no") and float(labels["Max residual r_t"]) > 0


def test_fig11_preset_draws_random_walks():
    at = _page("pages/straying.py", {"preset": "fig11-random-walk"})
    assert not _errors(at)
    assert at.session_state["st_view"] == "random-walk"
    assert at.text_input(key="rw_dims").value == "2,10,100,10000,100000"
    assert "d = 100,000" in str(at.get("vega_lite_chart")[0].proto.spec)


def test_convex_view_draws_and_states_the_condition_number():
    at = _page("pages/straying.py", {"st_view": "convex", "cx_dim": "2000"})
    assert at.number_input(key="cx_dim").value == 2000  # both read from the address bar
    assert at.session_state["st_view"] == "convex"
    assert not _errors(at)
    assert any("ondition" in m.label for m in at.metric)
    assert at.get("vega_lite_chart")


def test_deep_linear_preset_selects_its_line():
    at = _page("pages/deep_linear.py", {"preset": "fig10-deep-linear-solutions"})
    assert not _errors(at)
    assert at.selectbox(key="dl_line").value == "solution → solution (Fig. 10 left)"
    assert any("Fig. 10 (left)" in s.value for s in at.success)


def test_home_gallery_links_every_preset():
    at = AppTest.from_file(APP, default_timeout=60).run()
    text = " ".join(str(el.proto) for el in at.get("page_link"))
    assert not _errors(at)
    for p in presets.PRESETS.values():
        assert f"preset={p.name}" in text, p.name


def test_a_training_run_is_drawn_live_from_its_snapshot():
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/train.py").run()
    at.number_input(key="steps").set_value(1_000_000).run()
    at.button(key="train_start").click().run()
    live = at.session_state["live_run"]
    try:
        time.sleep(1)
        at.switch_page("pages/straying.py").run()
        assert not _errors(at)
        assert at.selectbox(key="st_run").value == "#1 tanh [32, 32] seed 0"
        assert "(running)" in " ".join(c.value for c in at.caption)
        assert len(at.get("vega_lite_chart")) == 2
    finally:
        live.close()
