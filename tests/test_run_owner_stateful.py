"""Random sequences of clicks, hot changes, page switches, parks and trainer kills across three sessions, with real
trainer processes (hypothesis' stateful testing): the invariants of one owner per run hold after every event."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from core.model.config import TrainConfig
from core.train import pool as pool_mod
from core.train.live import ENDED, FRESH, LiveRun

CONFIG = TrainConfig(n_samples=120, hidden=(4,), steps=10**6)
SESSIONS, TRAINERS = 3, 2
sessions = st.integers(0, SESSIONS - 1)


class Room(RuleBasedStateMachine):
    pool: pool_mod.Pool  # set by the test
    made: list  # every trainer the pool started, to count live processes

    def __init__(self):
        super().__init__()
        self.runs: list[LiveRun | None] = [None] * SESSIONS
        self.last = [None] * SESSIONS  # the last click: train, pause, step, reset
        self.lr = [CONFIG.lr] * SESSIONS
        self.seen = [0] * SESSIONS  # the highest step seen: a run only goes back by its own reset or a kill
        self.killed = [False] * SESSIONS

    def _run(self, s: int) -> LiveRun:
        if self.runs[s] is None:
            self.runs[s] = LiveRun(CONFIG.replace(seed=s, lr=self.lr[s]), pool=self.pool)
        return self.runs[s]

    @rule(s=sessions)
    def train(self, s):
        self._run(s).start()
        self.last[s] = "train"

    @rule(s=sessions)
    def pause(self, s):
        if self.runs[s] is not None:
            self.runs[s].pause()
            self.last[s] = "pause"

    @rule(s=sessions)
    def step(self, s):
        self._run(s).step_once()
        self.last[s] = "step"

    @rule(s=sessions)
    def reset(self, s):
        if self.runs[s] is not None:
            self.runs[s].close()
        self.runs[s], self.seen[s], self.last[s], self.killed[s] = None, 0, "reset", False
        self._run(s)

    @rule(s=sessions, lr=st.sampled_from([0.01, 0.1, 0.3]))
    def hot_change(self, s, lr):
        self._run(s).set_hot(lr=lr)
        self.lr[s] = lr

    @rule(s=sessions)
    def page_switch(self, s):  # another page draws the run's record
        live = self._run(s)
        if live.touch().step > 0:
            assert live.record("#1").step >= 0

    @rule(i=st.integers(0, TRAINERS - 1))
    def kill_trainer(self, i):
        trainer = self.pool._trainers[i]
        if trainer is None or not trainer.alive:
            return
        for s, live in enumerate(self.runs):
            if live is not None and self.pool._where.get(live._key) is trainer:
                self.killed[s] = True
        with contextlib.suppress(ProcessLookupError):  # it may have just ended on its own (LINGER)
            os.kill(trainer.pid, signal.SIGKILL)
        trainer.process.join(5)
        time.sleep(FRESH)  # the next touch asks the trainers, not the status heard before the kill

    @rule(seconds=st.sampled_from([0.05, 0.4, 1.0]))
    def wait(self, seconds):  # the trainers park idle runs (PARK_AFTER) and end when empty (LINGER) meanwhile
        time.sleep(seconds)

    @invariant()
    def at_most_the_cap_of_processes(self):
        alive = [t for t in self.made if t.process.is_alive()]
        assert len(alive) <= TRAINERS

    @invariant()
    def places_only_for_open_runs(self):
        keys = {live._key for live in self.runs if live is not None}
        assert set(self.pool._where) <= keys

    @invariant()
    def each_run_is_its_own_and_ends_where_its_last_click_asked(self):
        for s, live in enumerate(self.runs):
            if live is None:
                continue
            status = live.touch()
            assert live.config.lr == self.lr[s]  # no other session's action changed it
            if not self.killed[s]:
                assert status.step >= self.seen[s]
            self.seen[s] = max(self.seen[s], status.step) if not self.killed[s] else status.step
            self.killed[s] = False
            if self.last[s] == "train":
                assert status.training or status.status in (*ENDED, "waiting"), status
            elif self.last[s] is not None:
                assert not status.training, status
            if not status.training:  # the sidebar's line and the main area's chart agree
                snap = live.snapshot()
                assert (snap.step, snap.status) == (live.touch().step, live.touch().status)

    def teardown(self):
        for live in self.runs:
            if live is not None:
                live.close()


@pytest.mark.slow
def test_one_owner_per_run_under_random_events(monkeypatch):
    monkeypatch.setattr(pool_mod, "PARK_AFTER", 0.5)
    monkeypatch.setattr(pool_mod, "LINGER", 0.5)
    made = []

    def make():
        made.append(pool_mod.LocalTrainer(256 * 2**20, 1))
        return made[-1]

    Room.pool = pool_mod.Pool(pool_mod.Settings(trainers=TRAINERS, memory_mb=512, ray_address=None), make=make)
    Room.made = made
    try:
        run_state_machine_as_test(Room, settings=settings(
            max_examples=15, stateful_step_count=14, deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    finally:
        Room.pool.shutdown()
