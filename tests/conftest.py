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


@pytest.fixture(autouse=True)
def fresh_trainers(monkeypatch):
    """Each test starts with an empty registry of trainer processes: runs that earlier tests left open (their
    processes park or are killed on their own) must not make this test's server look full."""
    from core.train import trainers

    monkeypatch.setattr(trainers, "_holders", set())
    monkeypatch.setattr(trainers, "_objects", {})
    monkeypatch.setattr(trainers, "_line", {})


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
