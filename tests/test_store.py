"""Bounded stores: ThinningLog and Trajectory keep the right rows and never outgrow their capacity."""

from __future__ import annotations

import pytest
import torch

from core.train import store
from core.train.store import ThinningLog, Trajectory


def _expected_rows(n_offers: int, capacity: int) -> list[int]:
    """Closed form for plain offers 0..n-1: every s-th one, s the smallest power of two that fits."""
    s = 1
    while len(range(0, n_offers, s)) > capacity:
        s *= 2
    return list(range(0, n_offers, s))


# ---- ThinningLog -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("capacity", [2, 4, 8, 10, 64])
def test_thinning_log_keeps_every_stride_th_offer_and_stays_bounded(capacity):
    log = ThinningLog(capacity)
    for i in range(1000):
        log.offer(lambda i=i: {"step": i})
        assert len(log) <= capacity
        steps = [r["step"] for r in log.rows]
        assert steps == _expected_rows(i + 1, capacity), i
        assert steps[0] == 0
    assert log.stride == steps[1] - steps[0]


def test_thinning_log_halves_when_full_and_doubles_stride():
    log = ThinningLog(8)
    for i in range(8):
        log.offer(lambda i=i: {"step": i})
    assert len(log) == 8 and log.stride == 1
    log.offer(lambda: {"step": 8})  # the 9th row overflows: keep 0, 2, 4, 6, 8
    assert [r["step"] for r in log.rows] == [0, 2, 4, 6, 8]
    assert log.stride == 2


def test_thinning_log_builds_rows_lazily():
    calls = []

    def make(i):
        calls.append(i)
        return {"step": i}

    log = ThinningLog(4)
    for i in range(100):
        log.offer(lambda i=i: make(i))
    assert calls == sorted(set(calls))
    # only the offers that fell on the stride at the time were built
    assert len(calls) < 30
    assert [r["step"] for r in log.rows] == _expected_rows(100, 4)


@pytest.mark.parametrize("capacity", [4, 8, 16, 100])
def test_forced_offers_are_kept(capacity):
    log = ThinningLog(capacity)
    for i in range(1, 500):
        log.offer(lambda i=i: {"step": i})
        if i % 37 == 0:
            log.offer(lambda i=i: {"step": i + 0.5, "forced": True}, force=True)
            assert log.rows[-1] == {"step": i + 0.5, "forced": True}
        assert len(log) <= capacity
    assert log.rows[0]["step"] == 1  # the first row survives all thinning


@pytest.mark.parametrize("capacity", [3, 5])
def test_forced_offer_survives_thinning_with_odd_capacity(capacity):
    log = ThinningLog(capacity)
    for i in range(capacity):
        log.offer(lambda i=i: {"step": i})
    log.offer(lambda: {"step": 1000}, force=True)
    assert len(log) <= capacity
    assert log.rows[-1]["step"] == 1000


def test_offer_with_same_step_replaces_the_last_row():
    log = ThinningLog(4)
    log.offer(lambda: {"step": 0, "v": 1})
    log.offer(lambda: {"step": 0, "v": 2}, force=True)
    assert log.rows == [{"step": 0, "v": 2}]


# ---- Trajectory --------------------------------------------------------------------------------------------
def test_trajectory_capacity_follows_the_byte_budget():
    assert Trajectory(10, "cpu").capacity == store.TRAJECTORY_MAX  # tiny model: the count limit
    p_mid = store.TRAJECTORY_BYTES // (4 * 100)
    assert Trajectory(p_mid, "cpu").capacity == 100  # 100 float32 snapshots fit the budget
    assert Trajectory(store.TRAJECTORY_BYTES // 4, "cpu").capacity == 16  # huge model: the floor
    assert Trajectory(p_mid, "cpu", dtype=torch.float64).capacity == 50


def _fill(traj, last_step, P):
    """What Run does: offer every step that the store wants, keep a copy of everything offered."""
    added = {}
    for step in range(last_step + 1):
        if traj.wants(step):
            theta = torch.arange(P, dtype=torch.float32) + 1000.0 * step
            traj.add(step, theta)
            added[step] = theta.clone()
        assert len(traj.steps) <= traj.capacity
    return added


@pytest.mark.parametrize("last_step", [0, 15, 16, 17, 100, 5000])
def test_trajectory_stays_bounded_and_keeps_the_right_snapshots(last_step):
    P = 6
    traj = Trajectory(P, "cpu")
    traj.capacity = 16  # a small store to exercise thinning (the tensor is bigger, which is harmless)
    added = _fill(traj, last_step, P)
    steps, thetas = traj.view()
    assert steps[0] == 0
    assert len(steps) <= 16 and thetas.shape == (len(steps), P)
    assert steps == sorted(steps)
    assert steps == list(range(0, last_step + 1, traj.stride))  # evenly spread at the final stride
    for k, step in enumerate(steps):
        assert torch.equal(thetas[k], added[step]), step


def test_trajectory_keeps_step_zero_forever():
    traj = Trajectory(3, "cpu")
    first = torch.tensor([1.0, 2.0, 3.0])
    traj.add(0, first)
    for step in range(1, 20 * traj.capacity):
        if traj.wants(step):
            traj.add(step, torch.full((3,), float(step)))
    steps, thetas = traj.view()
    assert steps[0] == 0 and torch.equal(thetas[0], first)
    assert len(steps) <= traj.capacity
    assert traj.stride > 1


def test_trajectory_same_step_replaces_last_snapshot():
    traj = Trajectory(2, "cpu")
    traj.add(0, torch.zeros(2))
    traj.add(3, torch.ones(2))
    traj.add(3, torch.full((2,), 7.0))
    steps, thetas = traj.view()
    assert steps == [0, 3]
    assert torch.equal(thetas, torch.tensor([[0.0, 0.0], [7.0, 7.0]]))


def test_trajectory_copies_what_it_is_given():
    traj = Trajectory(2, "cpu")
    theta = torch.zeros(2)
    traj.add(0, theta)
    theta += 5
    assert torch.equal(traj.view()[1][0], torch.zeros(2))


def test_trajectory_starts_at_every_step_and_doubles_its_stride_when_full():
    traj = Trajectory(4, "cpu")
    assert traj.stride == 1
    _fill(traj, 3 * traj.capacity, 4)
    assert len(traj.steps) <= traj.capacity and traj.steps[0] == 0 and traj.stride == 4
