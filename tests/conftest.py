"""Shared test set-up."""

import pytest
import torch
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


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny tensors: one thread is fastest, and immune to a busy machine's oversubscription; restored after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def drain_queue():
    """For AppTest: rerun (as a page's polling fragment would) until the session's queued runs are done."""
    import time

    def drain(at, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while at.session_state["run_queue"] and time.monotonic() < deadline:
            time.sleep(0.1)
            at.run()
        assert not at.session_state["run_queue"], "queued runs did not finish"
        at.run()

    return drain
