"""ui.pace: the server's live-drawing load, the sum over recently drawing sessions of their last redraw's CPU time."""

import time

import pytest

from ui import pace


@pytest.fixture(autouse=True)
def _empty():
    pace._costs.clear()
    yield
    pace._costs.clear()


def test_the_load_sums_each_session_s_last_redraw_and_forgets_silent_sessions():
    pace.record("a", 0.2, now=100.0)
    pace.record("b", 0.1, now=105.0)
    pace.record("a", 0.3, now=110.0)  # replaces a's earlier cost
    assert pace.load(now=110.0) == pytest.approx(0.4)
    assert pace.load(now=100.0 + pace.FORGET + 5.5) == pytest.approx(0.3)  # b drew last at 105: forgotten at 125
    assert pace.load(now=200.0) == 0.0 and pace._costs == {}


def test_measured_counts_cpu_time_not_waiting(monkeypatch):
    monkeypatch.setattr(pace, "get_script_run_ctx", lambda: type("Ctx", (), {"session_id": "s"})())
    with pace.measured():
        time.sleep(0.2)  # waiting (for the lock, for a worker's answer) costs no CPU
    waited = pace.load()
    with pace.measured():
        end = time.thread_time() + 0.05
        while time.thread_time() < end:
            pass
    assert waited < 0.05 and 0.05 <= pace.load() < 0.5


def test_outside_a_streamlit_session_nothing_is_recorded():
    with pace.measured():
        pass
    assert pace._costs == {}
