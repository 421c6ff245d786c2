"""Widgets bound to the URL (bind="query-params") show their values as they are.

Streamlit writes a bound widget's shown text to the URL: with a format_func, the label (?ip_mode=final+of+run+A+→+…),
and it seeds the widget only from a shown text. So the options of a bound widget are short keys shown as they are,
with their longer words in captions or help: a link then reads ?ip_mode=final-final, and one a lecturer types
selects that option. An old link that holds a label falls back to the default, without an error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.model.config import TrainConfig
from core.model.records import from_run, short_name
from core.train.run import Run

pytestmark = pytest.mark.usefixtures("app_test_pages")
PAGES = Path(__file__).resolve().parents[1] / "pages"
CONFIG = TrainConfig(n_samples=200, hidden=(8,), steps=30, log_every=5, device="cpu", seed=1)
CHOICES = ("radio", "selectbox", "multiselect", "button_group", "select_slider")  # the widgets with options


@pytest.fixture(scope="module")
def records():
    run = Run(CONFIG)
    run.train()
    record = from_run(run, short_name(CONFIG, 1))
    return {record.name: record}


def _page(page: str, query: dict, records: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGES / page), default_timeout=90)
    if records is not None:
        at.session_state["run_records"] = records
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


def _bound(at: AppTest) -> dict:
    """The bound widgets with options, by their URL key."""
    return {w.proto.query_param_key: w for kind in CHOICES for w in at.get(kind) if w.proto.query_param_key}


def _shown_as_is(at: AppTest) -> set[str]:
    """Assert that every bound widget with options shows its value as it is (what the URL will hold); their keys."""
    bound = _bound(at)
    for key, widget in bound.items():
        values = widget.value if isinstance(widget.value, list) else [widget.value]
        for value in values:
            assert widget.format_func(value) == str(value), f"{key} shows {widget.format_func(value)!r} for {value!r}"
    return set(bound)


# (page, URL, needs runs, the bound widgets with options that the page then shows, at least)
VIEWS = [
    ("surfaces.py", {}, False, {"sf_mode", "sf_surface"}),
    ("surfaces.py", {"sf_mode": "restarts"}, False, {"sf_mode", "sf_surface", "sf_r_kind"}),
    ("straying.py", {}, False, {"st_view"}),
    ("straying.py", {"st_view": "random-walk"}, False, {"st_view"}),
    ("straying.py", {"st_view": "convex"}, False, {"st_view"}),
    ("interpolation.py", {}, True, {"ip_mode", "ip_windows", "ip_quantity", "ip_splits"}),
    ("interpolation.py", {"ip_mode": "checkpoints"}, True, {"ip_mode", "ip_windows", "ip_quantity", "ip_splits"}),
    ("landscape.py", {"ls_direction": "random", "ls_split": "validation", "ls_grid": "21", "ls_replay": "false"},
     True, {"ls_direction", "ls_split", "ls_grid"}),
]


@pytest.mark.parametrize(("page", "query", "runs", "keys"), VIEWS, ids=[f"{v[0]}{v[1]}" for v in VIEWS])
def test_bound_widgets_show_their_values_as_they_are_and_a_link_selects_them(records, page, query, runs, keys):
    at = _page(page, query, records if runs else None)
    assert not _errors(at)
    assert _shown_as_is(at) >= keys
    for key, value in query.items():  # the link's short keys selected their options
        assert str(at.session_state[key]).lower() == value


@pytest.mark.parametrize(("page", "key", "label", "default", "runs"), [
    ("interpolation.py", "ip_mode", "final of run A → final of run B", "init-final", True),
    ("straying.py", "st_view", "Convex problem (Fig. 12)", "run", False),
    ("landscape.py", "ls_direction", "Random, per-neuron", "pca", True),
    ("landscape.py", "ls_split", "Validation", "train", True),
])
def test_an_old_link_with_a_label_falls_back_to_the_default(records, page, key, label, default, runs):
    at = _page(page, {key: label, "ls_grid": "21", "ls_replay": "false"} if page == "landscape.py" else {key: label},
               records if runs else None)
    assert not _errors(at)
    assert at.session_state[key] == default
    assert key not in at.query_params  # the label left the address bar
