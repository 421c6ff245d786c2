"""The live worker: chunked training equals one-go training, pause, idle stop, and the server-wide cap."""

import threading
import time

import pytest
import torch

from core import live as live_mod
from core.config import TrainConfig
from core.live import CapacityError, LiveRun
from core.run import Run

SMALL = TrainConfig(n_samples=200, hidden=(8,), steps=300)


def _wait(live: LiveRun, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while live.training and time.monotonic() < deadline:
        live.touch()
        time.sleep(0.02)


def test_background_chunks_give_the_same_numbers_as_one_go():
    live = LiveRun(SMALL)
    live.start()
    _wait(live)
    reference = Run(SMALL)
    reference.train()
    assert live.run.step == reference.step == 300
    assert torch.equal(live.run.theta, reference.theta)
    assert live.run.metrics_frame().equals(reference.metrics_frame())
    snap = live.snapshot()
    assert snap.status == "done" and snap.step == 300


def test_pause_stops_and_step_once_takes_one_step():
    live = LiveRun(SMALL.replace(steps=10**6))
    live.start()
    time.sleep(0.3)
    live.pause()
    assert not live.training
    at = live.run.step
    time.sleep(0.2)
    assert live.run.step == at > 0
    live.step_once()
    assert live.run.step == at + 1


def test_snapshot_is_a_copy():
    live = LiveRun(SMALL)
    snap = live.snapshot()
    live.step_once()
    assert snap.step == 0 and not torch.equal(snap.theta, live.run.theta)


def test_a_run_nobody_watches_pauses_itself(monkeypatch):
    monkeypatch.setattr(live_mod, "IDLE_TIMEOUT", 0.3)
    live = LiveRun(SMALL.replace(steps=10**6))
    live.start()
    deadline = time.monotonic() + 10
    while live.training and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not live.training
    assert "no page" in live.snapshot().message


def test_the_server_caps_concurrent_runs(monkeypatch):
    monkeypatch.setattr(live_mod, "_slots", threading.BoundedSemaphore(1))
    first, second = LiveRun(SMALL.replace(steps=10**6)), LiveRun(SMALL.replace(steps=10**6, seed=1))
    first.start()
    with pytest.raises(CapacityError, match="limit"):
        second.start()
    first.pause()
    second.start()
    assert second.training
    second.pause()


def test_two_runs_train_independently():
    a, b = LiveRun(SMALL), LiveRun(SMALL.replace(seed=1, lr=0.1))
    a.start(), b.start()
    _wait(a), _wait(b)
    ref_b = Run(SMALL.replace(seed=1, lr=0.1))
    ref_b.train()
    assert torch.equal(b.run.theta, ref_b.theta)
    assert not torch.equal(a.run.theta, b.run.theta)


def test_hot_change_is_used_by_the_next_chunk():
    live = LiveRun(SMALL.replace(steps=10**6))
    live.step_once()
    live.set_hot(lr=0.5, steps=5)
    live.start()
    _wait(live)
    assert live.run.step == 5 and live.run.config.lr == 0.5
    assert live.run.metrics_frame()["lr"].iloc[-1] == 0.5
