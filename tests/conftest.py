"""Shared test set-up."""

import pytest
from streamlit.runtime.pages_manager import PagesManager


@pytest.fixture
def app_test_pages(monkeypatch):
    """AppTest resets Streamlit's legacy `pages/` mode before every run; a real server leaves it off once
    app.py has called st.navigation (see ui/__init__.py). Keep it off, as on a server."""
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)
