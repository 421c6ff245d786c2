"""The live worker process: chunked training equals one-go training, pause, idle stop, the cap, and failures."""

import time

import pytest
import torch

from core.model.config import TrainConfig
from core.train import live as live_mod
from core.train.live import CapacityError, LiveRun
from core.train.run import Run

SMALL = TrainConfig(n_samples=200, hidden=(8,), steps=300)


def _wait(live: LiveRun, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while live.training and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def runs():
    """LiveRuns made in a test; their worker processes are closed afterwards."""
    made = []
    yield lambda config: made.append(LiveRun(config)) or made[-1]
    for live in made:
        live.close()


def test_background_chunks_give_the_same_numbers_as_one_go(runs):
    live = runs(SMALL)
    live.start()
    _wait(live)
    snap = live.snapshot()
    reference = Run(SMALL)
    reference.train()
    assert snap.status == "done" and snap.step == reference.step == 300
    assert torch.equal(snap.theta, reference.theta)
    assert torch.equal(live.theta_init, reference.theta_init)
    pd_equal = snap.metrics.equals(reference.metrics_frame())
    assert pd_equal


def test_pause_stops_and_step_once_takes_one_step(runs):
    live = runs(SMALL.replace(steps=10**6))
    live.start()
    time.sleep(0.5)
    live.pause()
    assert not live.training
    at = live.touch().step
    time.sleep(0.3)
    assert live.touch().step == at > 0
    live.step_once()
    assert live.snapshot().step == at + 1


def test_snapshot_is_a_copy(runs):
    live = runs(SMALL)
    snap = live.snapshot()
    live.step_once()
    assert snap.step == 0 and not torch.equal(snap.theta, live.snapshot().theta)


def test_a_run_nobody_watches_pauses_itself(runs, monkeypatch):
    monkeypatch.setattr(live_mod, "IDLE_TIMEOUT", 0.5)
    live = runs(SMALL.replace(steps=10**6))
    live.start()
    time.sleep(2.0)  # no request meanwhile: the worker stops on its own
    status = live.touch()
    assert not status.training and status.status == "paused"
    assert "no page" in status.message


def test_the_server_caps_concurrent_runs(runs, monkeypatch):
    monkeypatch.setattr(live_mod, "_slots", live_mod.trainers.CONTEXT.BoundedSemaphore(1))
    first, second = runs(SMALL.replace(steps=10**6)), runs(SMALL.replace(steps=10**6, seed=1))
    first.start()
    with pytest.raises(CapacityError, match="limit"):
        second.start()
    first.pause()
    second.start()
    assert second.training
    second.pause()


def test_two_runs_train_independently(runs):
    a, b = runs(SMALL), runs(SMALL.replace(seed=1, lr=0.1))
    a.start(), b.start()
    _wait(a), _wait(b)
    ref_b = Run(SMALL.replace(seed=1, lr=0.1))
    ref_b.train()
    assert torch.equal(b.snapshot().theta, ref_b.theta)
    assert not torch.equal(a.snapshot().theta, b.snapshot().theta)


def test_hot_change_is_used_by_the_next_chunk(runs):
    live = runs(SMALL.replace(steps=10**6))
    live.step_once()
    live.set_hot(lr=0.5, steps=5)
    live.start()
    _wait(live)
    snap = live.snapshot()
    assert snap.step == 5 and snap.config.lr == 0.5 and live.config.lr == 0.5
    assert snap.metrics["lr"].iloc[-1] == 0.5
    with pytest.raises(ValueError, match="cannot change"):
        live.set_hot(dataset="digits")


def test_a_dead_worker_becomes_a_message_not_a_crash_and_frees_its_slot(runs, monkeypatch):
    monkeypatch.setattr(live_mod, "_slots", live_mod.trainers.CONTEXT.BoundedSemaphore(1))
    live = runs(SMALL.replace(steps=10**6))
    live.start()
    before = live.snapshot()
    live._process.kill()
    live._process.join(5)
    after = live.snapshot()
    assert after.status == "failed" and "worker process is gone" in after.message
    assert torch.equal(after.theta, before.theta)
    assert not live.training
    other = runs(SMALL)  # the dead run's training slot is free again
    other.start()
    other.pause()


def test_impossible_settings_are_refused_before_a_process_starts():
    with pytest.raises(ValueError, match="Hessian"):
        LiveRun(SMALL.replace(optimizer="newton", hidden=(256, 256)))


def test_redraw_pace_backs_off_when_training_is_starved_with_hysteresis():
    fast, slow = live_mod.REDRAW_FAST, live_mod.REDRAW_SLOW
    assert live_mod.redraw_interval(1.0, fast) == fast
    assert live_mod.redraw_interval(0.5, fast) == slow
    assert live_mod.redraw_interval(0.9, slow) == slow  # between the thresholds nothing changes
    assert live_mod.redraw_interval(0.9, fast) == fast
    assert live_mod.redraw_interval(0.99, slow) == fast


@pytest.mark.parametrize("load", [0.0, 0.1, 0.2, 0.3, 0.6, 1.0, 1.9, 2.5, 3.9, 7.0, 50.0])
def test_redraw_pace_keeps_the_server_s_drawing_under_its_share_and_comes_back_only_with_room(load):
    share, paces = live_mod.DRAW_SHARE, live_mod.PACES
    for current in paces:
        pace = live_mod.redraw_interval(1.0, current, load)
        assert pace in paces
        assert load / pace <= share or pace == paces[-1]  # drawing every `pace` s costs load/pace of a core
        if pace < current:  # faster again: the faster pace uses at most 1/SLACK of the share
            assert load / pace <= share / live_mod.SLACK
        if pace > current:  # slower: only as slow as needed
            assert load / paces[paces.index(pace) - 1] > share
    # the same load from the fast pace and back down settles where it started rising: no flapping between two paces
    up = live_mod.redraw_interval(1.0, paces[0], load)
    assert live_mod.redraw_interval(1.0, up, load) == up


def test_a_training_worker_reports_its_cpu_share(runs):
    live = runs(SMALL.replace(steps=10**6))
    live.start()
    time.sleep(1.0)
    share = live.snapshot().cpu_share
    live.pause()
    assert 0.0 < share <= 1.0


def test_an_idle_run_gives_its_process_back_and_resumes_exactly(runs, monkeypatch):
    """Paused for PARK_AFTER seconds, the worker saves the run to files and exits; the page still answers; a new
    worker resumes from the files, and the run ends where one unbroken run ends."""
    monkeypatch.setattr(live_mod, "PARK_AFTER", 0.5)
    live = runs(SMALL)
    live.step_once()
    before = live.snapshot()
    deadline = time.monotonic() + 30
    while live._process.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not live._process.is_alive(), "the idle worker kept its process"
    assert live.touch().status == "paused" and live.parked  # answered without a process
    assert live.snapshot().step == before.step == 1 and live.parked
    live.start()  # a new worker resumes from the files
    assert not live.parked
    _wait(live)
    snap = live.snapshot()
    reference = Run(SMALL)
    reference.train()
    assert snap.status == "done" and snap.step == 300 and torch.equal(snap.theta, reference.theta)
    record = live.record("r")
    assert record.step == 300 and torch.equal(record.theta_final, reference.theta)
