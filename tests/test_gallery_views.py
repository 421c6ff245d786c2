"""The gallery's §8.2 cards (ui.gallery.VIEW_CARDS) and ?train=now (ui.run_panel.train_on_arrival), by AppTest."""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import runs
from ui.gallery import PAGES, VIEW_CARDS

pytestmark = pytest.mark.usefixtures("app_test_pages")
ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
VIEW_KEYS = {"gradients": "gr_view", "memory": "mem_view"}


def _page_views(page: str) -> set[str]:
    """The options of the page's view switch, read from its source (its VIEWS dict's keys)."""
    source = (ROOT / "pages" / f"{page}.py").read_text(encoding="utf-8")
    block = source[source.index("VIEWS = {"):source.index("}\n", source.index("VIEWS = {"))]
    return set(re.findall(r'^\s*(?:VIEWS = \{)?"(\w+)":', block, re.M))


def test_every_view_card_opens_an_existing_view_of_its_page():
    for card in VIEW_CARDS:
        assert card.page in PAGES and card.page in VIEW_KEYS, card
        view = card.params[VIEW_KEYS[card.page]]
        assert view in _page_views(card.page), (card.title, view)
        assert set(card.params) <= {VIEW_KEYS[card.page], "train"} and card.params.get("train", "now") == "now"


def test_home_shows_a_card_per_view_with_its_link():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    for card in VIEW_CARDS:
        assert card.title in text


def test_train_now_queues_the_sidebar_s_run_once_and_leaves_the_address():
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/gradients.py")
    at.query_params.update({"gr_view": "noise", "train": "now", "steps": "40"})
    at.run()
    assert not at.exception and not at.error
    queue = at.session_state[runs.QUEUE]
    assert len(queue) == 1 and queue[0]["config"].steps == 40  # the link's other settings are the run's
    assert "train" not in at.query_params
    at.run()  # the next page run (a redraw, a reload of the address now shown) does not queue another
    assert len(at.session_state[runs.QUEUE]) <= 1
