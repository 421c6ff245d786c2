"""The trainers' second backend: Ray actors (PLAYGROUND_RAY_ADDRESS), tested on a local Ray instance."""

from __future__ import annotations

import time

import pytest
import torch

from core.model.config import TrainConfig
from core.train import pool as pool_mod
from core.train.live import LiveRun
from core.train.run import Run


@pytest.mark.slow
def test_the_defaults_train_in_a_ray_actor_exactly_as_in_one_process(monkeypatch):
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("PLAYGROUND_RAY_ADDRESS", "local")
    monkeypatch.setenv("PLAYGROUND_TRAINERS", "1")
    pool = pool_mod.Pool()  # its settings from the environment, as on a server
    assert pool.settings.ray_address == "local"
    config = TrainConfig()
    try:
        live = LiveRun(config, pool=pool)
        live.start()
        deadline = time.monotonic() + 240
        while live.training and time.monotonic() < deadline:
            time.sleep(0.1)
        snap = live.snapshot()
        reference = Run(config)
        reference.train()
        assert snap.status == "done" and snap.step == config.steps == reference.step
        assert torch.equal(snap.theta, reference.theta) and torch.equal(live.theta_init, reference.theta_init)
        assert live.record("r").step == config.steps
        live.close()
    finally:
        pool.shutdown()
        ray.shutdown()
