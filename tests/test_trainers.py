"""The server's cap on trainer processes (core.train.trainers): parking idle holders, a first-come line, and LiveRun
runs that wait for a process and then start on their own."""

import time

import pytest

from core.model.config import TrainConfig
from core.train import live as live_mod
from core.train import trainers


class Fake:
    """A holder: idle or training; parking gives its process back."""

    def __init__(self, idle: bool):
        self._idle, self.parked = idle, False

    def idle(self) -> bool:
        return self._idle and not self.parked

    def try_park(self) -> bool:
        if not self.idle():
            return False
        self.parked = True
        trainers.release(self)
        return True


@pytest.fixture
def registry(monkeypatch):
    """An empty registry with room for two processes."""
    monkeypatch.setattr(trainers, "MAX_PROCESSES", 2)  # and empty (conftest's fresh_trainers)


def test_the_cap_holds_and_an_idle_holder_is_parked_to_make_room(registry):
    busy, idle = Fake(idle=False), Fake(idle=True)
    trainers.claim(busy)
    trainers.claim(idle)
    newcomer = Fake(idle=False)
    trainers.claim(newcomer)  # room made by parking the idle one
    assert idle.parked and not busy.parked
    assert trainers.counts() == (2, 0)
    waiting = Fake(idle=False)
    with pytest.raises(trainers.Full) as full:
        trainers.claim(waiting)  # both train: wait in line
    assert full.value.ahead == 0
    assert trainers.counts() == (2, 1)


def test_the_line_is_first_come_first_served_and_forgets_the_absent(registry, monkeypatch):
    a, b = Fake(idle=False), Fake(idle=False)
    trainers.claim(a)
    trainers.claim(b)
    first, second = Fake(idle=False), Fake(idle=False)
    for waiting, ahead in ((first, 0), (second, 1)):
        with pytest.raises(trainers.Full) as full:
            trainers.claim(waiting)
        assert full.value.ahead == ahead
    trainers.release(a)
    with pytest.raises(trainers.Full):
        trainers.claim(second)  # the free process is the first's
    trainers.claim(first)
    trainers.release(b)
    clock = time.monotonic() + trainers.LINE_FORGET + 1
    monkeypatch.setattr(trainers.time, "monotonic", lambda: clock)
    late = Fake(idle=False)
    trainers.claim(late)  # `second` stopped asking (a closed tab): it lost its place
    assert trainers.counts() == (2, 0)


def test_a_holder_nobody_keeps_is_not_counted(registry):
    trainers.claim(Fake(idle=False))  # collected at once, without releasing (a LiveRun's __del__ would)
    keep = [Fake(idle=False), Fake(idle=False)]
    for holder in keep:
        trainers.claim(holder)
    assert trainers.counts() == (2, 0)


def test_a_run_that_only_shows_step_0_takes_no_place_in_line(registry):
    holders = [Fake(idle=False), Fake(idle=False)]
    for holder in holders:
        trainers.claim(holder)
    with pytest.raises(trainers.Full):
        trainers.claim(Fake(idle=False), queue=False)
    assert trainers.counts() == (2, 0)


SMALL = TrainConfig(hidden=(8,), steps=100_000, n_samples=200, batch_size=32)


def test_a_live_run_waits_for_a_process_then_trains_and_the_parked_one_keeps_its_record(registry, monkeypatch):
    monkeypatch.setattr(trainers, "MAX_PROCESSES", 1)
    first = live_mod.LiveRun(SMALL)
    first.start()
    second = live_mod.LiveRun(SMALL.replace(seed=1))
    try:
        assert second.waiting and second.touch().status == "waiting"
        assert "are busy with other runs. Press Train" in second.touch().message
        second.start()  # pressed while waiting: remembered, and in line
        assert not second.training and "Waiting for a free trainer" in second.touch().message
        time.sleep(0.3)
        drawn = first.snapshot().step
        first.pause()
        assert trainers.counts()[0] == 1
        deadline = time.monotonic() + 30
        while not second.training and time.monotonic() < deadline:
            time.sleep(0.1)
        assert second.training and not second.waiting  # it took the first run's process, which parked
        assert first.parked and not first._process.is_alive()
        assert trainers.counts() == (1, 0)
        step = first.touch().step
        record = first.record("#1")  # from its files: the one process is busy training the second run
        assert step > 0 and record.step == step
        shown = first.snapshot()  # the last one drawn: a newer one would need a process
        assert shown.step == drawn and shown.status == "paused"
    finally:
        second.close()
        first.close()
    assert trainers.counts() == (0, 0)


def test_a_closed_tabs_run_gives_its_process_back_though_its_status_is_stale(registry, monkeypatch):
    """Nobody asks an abandoned run any more: its cached status still says training. It pauses itself (idle
    timeout), and the next run in line must get its process."""
    monkeypatch.setattr(trainers, "MAX_PROCESSES", 1)
    monkeypatch.setattr(live_mod, "IDLE_TIMEOUT", 0.5)
    abandoned = live_mod.LiveRun(SMALL)
    abandoned.start()
    assert abandoned._status.training  # as its page last saw it
    newcomer = live_mod.LiveRun(SMALL.replace(seed=1))
    try:
        newcomer.start()
        deadline = time.monotonic() + 30
        while not newcomer.training and time.monotonic() < deadline:
            time.sleep(0.2)
        assert newcomer.training
        assert abandoned.parked and abandoned.touch().status == "paused"
    finally:
        newcomer.close()
        abandoned.close()
