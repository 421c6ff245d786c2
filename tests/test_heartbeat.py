"""ui.heartbeat: the server touches the runs of connected sessions, and forgets the others."""

from __future__ import annotations

import gc

from ui import heartbeat


class FakeRun:
    def __init__(self, fails: bool = False):
        self.touches, self.fails = 0, fails

    def touch(self):
        self.touches += 1
        if self.fails:
            raise ValueError("the worker is gone")


def test_beat_touches_connected_sessions_only_and_forgets_the_rest(monkeypatch):
    monkeypatch.setattr(heartbeat, "_watched", {})
    open_run, closed_run, failing = FakeRun(), FakeRun(), FakeRun(fails=True)
    for sid, run in (("open", open_run), ("closed", closed_run), ("failing", failing)):
        heartbeat._watched[sid] = heartbeat.weakref.ref(run)
    connected = {"open", "failing"}
    assert heartbeat.beat(lambda sid: sid in connected) == 1  # the failing run is tried, not counted
    assert (open_run.touches, closed_run.touches, failing.touches) == (1, 0, 1)
    assert set(heartbeat._watched) == {"open", "failing"}  # a disconnected session's run is dropped
    heartbeat.beat(lambda sid: sid in connected)
    assert open_run.touches == 2 and closed_run.touches == 0


def test_a_collected_run_is_forgotten(monkeypatch):
    monkeypatch.setattr(heartbeat, "_watched", {})
    run = FakeRun()
    heartbeat._watched["s"] = heartbeat.weakref.ref(run)
    del run
    gc.collect()
    assert heartbeat.beat(lambda sid: True) == 0 and heartbeat._watched == {}



def test_a_round_touches_the_runs_in_parallel_on_threads_it_keeps(monkeypatch):
    """A touch waits for its trainer's chunk: the touches of one round overlap (TOUCHERS at once), on the same
    threads every round."""
    import threading
    import time

    lock, now, most = threading.Lock(), [0], [0]

    class SlowRun(FakeRun):
        def touch(self):
            with lock:
                now[0] += 1
                most[0] = max(most[0], now[0])
            time.sleep(0.05)
            with lock:
                now[0] -= 1
            super().touch()

    monkeypatch.setattr(heartbeat, "_watched", {})
    slow = [SlowRun() for _ in range(20)]
    for k, run in enumerate(slow):
        heartbeat._watched[f"s{k}"] = heartbeat.weakref.ref(run)
    before = threading.active_count()
    assert heartbeat.beat(lambda sid: True) == 20
    assert most[0] > 1  # one after the other, at most one at a time
    assert all(run.touches == 1 for run in slow) and threading.active_count() <= before + heartbeat.TOUCHERS
    after = threading.active_count()
    heartbeat.beat(lambda sid: True)
    assert threading.active_count() == after  # the same threads every round: bounded, never one more per round
