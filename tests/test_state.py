"""A run saved to safe files and loaded again trains on exactly as if it had never stopped."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from core.model.config import TrainConfig
from core.train import state
from core.train.run import Run

SMALL = TrainConfig(n_samples=200, hidden=(8,), steps=240, log_every=7, device="cpu")


@pytest.mark.parametrize("changes", [{}, {"optimizer": "adam", "lr": 0.01}, {"optimizer": "sgd", "batch_size": 0},
                                     {"curvature_monitor": True, "optimizer": "nesterov"}],
                         ids=["momentum", "adam", "full-batch-sgd", "nesterov-with-curvature"])
def test_a_saved_run_resumes_exactly(changes, tmp_path):
    config = SMALL.replace(**changes)
    straight = Run(config)
    straight.train()
    paused = Run(config)
    paused.train(max_steps=101)  # mid-epoch, between logged rows
    state.save(paused, tmp_path)
    assert state.summary(tmp_path)["step"] == 101
    resumed = state.load(tmp_path)
    resumed.train()
    assert resumed.step == straight.step and resumed.status == straight.status == "done"
    assert torch.equal(resumed.theta, straight.theta) and torch.equal(resumed.theta_init, straight.theta_init)
    pd.testing.assert_frame_equal(resumed.metrics_frame(), straight.metrics_frame())
    pd.testing.assert_frame_equal(resumed.points_frame(), straight.points_frame())
    pd.testing.assert_frame_equal(resumed.straying_frame(), straight.straying_frame())
