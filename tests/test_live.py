"""Live runs in trainer processes: chunked training equals one-go training, pause, idle stop, the memory budget,
parking, and a killed trainer."""

import os
import signal
import time

import pytest
import torch

from core.model.config import TrainConfig
from core.train import live as live_mod
from core.train import pool as pool_mod
from core.train.live import LiveRun
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
    monkeypatch.setattr(pool_mod, "IDLE_TIMEOUT", 0.5)  # read when the test's trainer starts
    live = runs(SMALL.replace(steps=10**6))
    live.start()
    time.sleep(2.0)  # no request meanwhile: the trainer pauses it on its own
    status = live.touch()
    assert not status.training and status.status == "paused"
    assert "no page" in status.message


def test_a_full_memory_budget_parks_idle_runs_then_makes_new_ones_wait(monkeypatch):
    """A trainer with room for two runs: a third parks the idle one; with both training, a new run waits (and its
    Train click is kept), then starts on its own once one of them pauses."""
    small = pool_mod.Pool(pool_mod.Settings(trainers=1, memory_mb=64, ray_address=None),
                          make=lambda: pool_mod.LocalTrainer(5 * 2**20, 1))
    made = []
    try:
        a, b = (made.append(LiveRun(SMALL.replace(steps=10**6, seed=s), pool=small)) or made[-1] for s in (0, 1))
        a.start(), b.step_once()
        c = LiveRun(SMALL.replace(steps=10**6, seed=2), pool=small)  # b is idle: parked for c
        made.append(c)
        assert not c.waiting and b.touch().step == 1
        c.start()
        d = LiveRun(SMALL.replace(steps=10**6, seed=3), pool=small)
        made.append(d)
        assert d.waiting and d.touch().status == "waiting" and "full" in d.touch().message
        d.start()
        assert d.wants_start and not d.training
        a.pause()
        deadline = time.monotonic() + 30
        while not d.training and time.monotonic() < deadline:
            time.sleep(0.1)
        assert d.training and not d.wants_start
    finally:
        for live in made:
            live.close()
        small.shutdown()


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


def test_a_killed_trainer_costs_its_runs_at_most_their_last_save_and_others_nothing(runs, monkeypatch):
    """kill -9 of a trainer: its run goes on (training again) from its last save on a new trainer, the page says how
    many steps were lost, and a run on the other trainer trains on untouched."""
    monkeypatch.setattr("core.train.host.CHECKPOINT_EVERY", 0.2)  # not read by the forked trainer: saves on stop
    victim, bystander = runs(SMALL.replace(steps=10**6)), runs(SMALL.replace(steps=10**6, seed=1))
    trainers = pool_mod.shared().trainers()
    assert len(trainers) == 2  # one run on each
    victim.step_once()  # a save at step 1 (every stop saves)
    victim.start(), bystander.start()
    time.sleep(1.0)
    before, other = victim.touch().step, bystander.touch().step
    dead = next(t for t in trainers if t.pid != pool_mod.shared()._trainer_for(bystander._key).pid)
    os.kill(dead.pid, signal.SIGKILL)
    dead.process.join(5)
    time.sleep(live_mod.FRESH)  # past the status heard just now
    status = victim.touch()
    assert "trainer process stopped" in status.message and "steps were lost" in status.message
    assert status.training and status.step < before
    time.sleep(0.5)
    assert victim.touch().step > status.step  # it trains on
    assert bystander.touch().training and bystander.touch().step > other
    snap = victim.snapshot()
    assert snap.status == "running" and "trainer process stopped" in snap.message
    victim.pause()
    assert victim.touch().message == ""  # the click clears the notice


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


def test_an_idle_run_leaves_memory_its_trainer_ends_and_the_run_resumes_exactly(runs, monkeypatch):
    """Paused for PARK_AFTER seconds, the run is saved and dropped from memory, and its trainer, with no run left,
    ends after LINGER; the page still answers; a new trainer takes the run up, which ends where one unbroken run
    ends."""
    monkeypatch.setattr(pool_mod, "PARK_AFTER", 0.3)
    monkeypatch.setattr(pool_mod, "LINGER", 0.3)
    live = runs(SMALL)
    live.step_once()
    before = live.snapshot()
    first = pool_mod.shared().trainers()[0]
    first.process.join(30)
    assert not first.process.is_alive() and first.clean, "the idle trainer kept its process"
    assert live.touch().status == "paused" and live.touch().step == before.step == 1
    live.start()
    _wait(live)
    snap = live.snapshot()
    reference = Run(SMALL)
    reference.train()
    assert snap.status == "done" and snap.step == 300 and torch.equal(snap.theta, reference.theta)
    record = live.record("r")
    assert record.step == 300 and torch.equal(record.theta_final, reference.theta)


def test_a_killed_trainer_of_an_idle_run_loses_nothing(runs):
    live = runs(SMALL.replace(steps=10**6))
    live.start()
    time.sleep(0.5)
    live.pause()  # saved on the stop
    at = live.touch().step
    trainer = pool_mod.shared()._trainer_for(live._key)
    os.kill(trainer.pid, signal.SIGKILL)
    trainer.process.join(5)
    time.sleep(live_mod.FRESH)
    status = live.touch()
    assert status.step == at and status.status == "paused" and not status.training
    assert "nothing was lost" in status.message
    live.step_once()
    assert live.touch().step == at + 1


SAVE_FOREVER = """
import sys
from pathlib import Path
from core.model.config import TrainConfig
from core.train import state
from core.train.run import Run
run = Run(TrainConfig(n_samples=200, hidden=(8,), steps=10**6))
while True:
    run.train(max_steps=1)
    state.save(run, Path(sys.argv[1]))
"""


@pytest.mark.parametrize("seed", range(3))
def test_a_kill_at_a_random_moment_of_a_park_never_loses_the_run(tmp_path, seed):
    """A process saving a run over and over (what a park is) killed at random moments: the folder always loads, at
    the newest complete save."""
    import random
    import subprocess
    import sys
    from pathlib import Path

    from core.train import state

    pick = random.Random(seed)
    root = Path(__file__).resolve().parents[1]
    for attempt in range(5):
        folder = tmp_path / f"run{attempt}"
        process = subprocess.Popen([sys.executable, "-c", SAVE_FOREVER, str(folder)], cwd=root)
        deadline = time.monotonic() + 60
        while len(state.generations(folder)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(pick.uniform(0.0, 0.05))
        process.kill()
        process.wait(5)
        saved = state.summary(folder)["step"]
        assert state.load(folder).step == saved >= 1


def test_a_run_whose_saves_are_damaged_fails_with_one_sentence_and_touch_never_raises(runs):
    live = runs(SMALL)
    live.step_once()
    trainer = pool_mod.shared()._trainer_for(live._key)
    for saved in live._folder.iterdir():  # every generation cut short
        saved.write_bytes(saved.read_bytes()[:10])
    os.kill(trainer.pid, signal.SIGKILL)
    trainer.process.join(5)
    time.sleep(live_mod.FRESH)
    status = live.touch()
    assert status.status == "failed" and status.steps == SMALL.steps and not status.training
    assert status.message.startswith("This run's saved state is damaged") and "\n" not in status.message
    with pytest.raises(ValueError, match="damaged"):
        live.snapshot()
