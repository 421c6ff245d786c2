"""A trainer's runs in one process (core.train.host), in-process: the order of turns, saves, the memory budget,
parking, and damaged saves."""

from __future__ import annotations

import time

import pytest
import torch

from core.model.config import TrainConfig
from core.train import host as host_mod
from core.train import state
from core.train.host import BUSY, Host
from core.train.run import Run

SMALL = TrainConfig(n_samples=200, hidden=(8,), steps=10**6, device="cpu")
ROOMY = 1 << 30


def _open(host: Host, folder, config=SMALL) -> str:
    folder.mkdir()
    kind, _, _ = host.handle(str(folder), "open", config)
    assert kind == "ok"
    return str(folder)


def test_turns_go_first_to_new_runs_then_to_starving_ones_then_to_the_least_work_left(tmp_path):
    host = Host(60, 60, ROOMY)
    a, b, c = (_open(host, tmp_path / n, SMALL.replace(steps=s)) for n, s in (("a", 10**6), ("b", 3000), ("c", 10**5)))
    for key in (a, b, c):
        host.handle(key, "start")
        time.sleep(0.01)
    assert host.pick(time.monotonic()) == (a, host_mod.FIRST_SLICE)  # every new run first, in the order pressed
    for key in (a, b, c):
        host.workers[key].train_chunk(host_mod.FIRST_SLICE)
    assert host.pick(time.monotonic())[0] == b  # least training left
    host.workers[a].served_at -= host_mod.STARVE_AFTER + 1
    assert host.pick(time.monotonic()) == (a, host_mod.STARVE_SLICE)  # it waited too long
    host.handle(b, "pause")
    host.handle(a, "pause")
    assert host.pick(time.monotonic())[0] == c


def test_a_training_run_is_saved_every_checkpoint_and_whenever_it_stops(tmp_path, monkeypatch):
    monkeypatch.setattr(host_mod, "CHECKPOINT_EVERY", 0.05)
    host = Host(60, 60, ROOMY)
    key = _open(host, tmp_path / "run")
    assert state.summary(tmp_path / "run")["step"] == 0  # the step-0 save at once
    host.handle(key, "start")
    for _ in range(4):
        host.turn()
    saved = state.summary(tmp_path / "run")["step"]
    assert 0 < saved <= host.workers[key].run.step
    host.handle(key, "pause")
    assert state.summary(tmp_path / "run")["step"] == host.workers[key].run.step


def test_the_memory_budget_parks_the_longest_idle_run_and_refuses_when_all_train(tmp_path):
    host = Host(60, 60, 0)
    one = Host(60, 60, ROOMY)
    probe = _open(one, tmp_path / "probe")
    host.memory_budget = 2 * one.workers[probe].footprint() + 2**21 - 1000  # room for two runs, not three
    a, b = _open(host, tmp_path / "a"), _open(host, tmp_path / "b")
    host.handle(a, "start")
    host.handle(b, "step")
    c = _open(host, tmp_path / "c")
    assert b in host.parked and b not in host.workers
    assert host.handle(b, "ping")[1].step == 1  # answered without loading it
    host.handle(c, "start")
    folder = tmp_path / "d"
    folder.mkdir()
    kind, _, message = host.handle(str(folder), "open", SMALL)
    assert kind == BUSY and "full" in message
    assert host.handle(b, "snapshot")[0] == BUSY  # no room to take b up either
    host.handle(a, "pause")
    kind, status, _ = host.handle(b, "snapshot")  # a is idle now: parked for b
    assert kind == "ok" and status.step == 1 and a in host.parked


def test_idle_runs_pause_then_park_and_a_closed_runs_folder_drops_it(tmp_path):
    host = Host(idle_timeout=0.05, park_after=0.1, memory_budget=ROOMY, linger=0.1)
    a, b = _open(host, tmp_path / "a"), _open(host, tmp_path / "b")
    host.handle(a, "start")
    time.sleep(0.06)
    host.turn()
    assert not host.workers[a].training and "no page" in host.workers[a].notice
    time.sleep(0.11)
    host.housekeeping(time.monotonic())
    assert a in host.parked and b in host.parked and not host.workers
    time.sleep(0.11)
    assert host.done(time.monotonic())
    host.handle(b, "start")  # taken up again from its folder
    import shutil

    shutil.rmtree(tmp_path / "b")  # its owner closed it
    host.handle(b, "pause")
    assert b not in host.workers


def test_a_damaged_newest_save_falls_back_on_the_one_before_and_two_damaged_ones_say_so(tmp_path):
    run = Run(SMALL.replace(steps=50))
    run.train(max_steps=10)
    state.save(run, tmp_path)
    run.train(max_steps=5)
    newest = state.save(run, tmp_path)
    blob = tmp_path / f"state-{newest}.safetensors"
    blob.write_bytes(blob.read_bytes()[:100])  # cut short, as a kill in the middle of a write would without renames
    assert state.load(tmp_path).step == 10
    (tmp_path / f"state-{newest - 1}.json").write_text('{"config": {"hidden": [8', encoding="utf-8")
    host = Host(60, 60, ROOMY)
    kind, status, message = host.handle(str(tmp_path), "snapshot")
    assert kind == "error" and status.status == "failed"
    assert message.startswith("This run's saved state is damaged") and message.endswith("to start again.")
    assert "\n" not in message and "Traceback" not in message


def test_only_the_newest_two_saves_are_kept(tmp_path):
    run = Run(SMALL.replace(steps=50))
    for _ in range(4):
        run.train(max_steps=1)
        state.save(run, tmp_path)
    assert state.generations(tmp_path) == [3, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state-2.json", "state-2.safetensors", "state-3.json",
                                                          "state-3.safetensors"]
    loaded = state.load(tmp_path)
    assert loaded.step == 4 and torch.equal(loaded.theta, run.theta)


@pytest.mark.parametrize("cut", ["json", "safetensors"])
def test_a_kill_in_the_middle_of_any_save_leaves_a_run_that_loads(tmp_path, cut):
    """A save cut off at any byte (what a kill -9 during a park does to a file written in place) never loses the
    run: the temporary file is never renamed, so the newest complete generation loads."""
    run = Run(SMALL.replace(steps=50))
    run.train(max_steps=3)
    state.save(run, tmp_path)
    run.train(max_steps=3)
    n = state.save(run, tmp_path)
    whole = (tmp_path / f"state-{n}.{cut}").read_bytes()
    for at in (0, 1, len(whole) // 3, len(whole) - 1):
        (tmp_path / f"state-{n}.{cut}").write_bytes(whole[:at])
        assert state.load(tmp_path).step == 3
    (tmp_path / f"state-{n}.{cut}").write_bytes(whole)
    assert state.load(tmp_path).step == 6
