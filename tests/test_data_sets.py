"""The new data sets through the registry (core.model.data): tasks, layouts, the cache, MNIST-1D's faster generator."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
import torch

from core.model import data
from core.model.build import model_and_data
from core.model.config import TrainConfig
from core.model.networks import evaluate
from tests.test_loaders import write_mnist


def test_sine_is_a_regression_with_one_output():
    d = data.make_dataset("sine", 200, 0.1, 0.25, 3)
    assert d.task == "regression" and d.n_classes == 0 and d.n_outputs == 1
    assert d.y_train.dtype == torch.float32 and d.x_train.shape == (150, 1) and len(d.y_val) == 50
    again = data.make_dataset("sine", 200, 0.1, 0.25, 3)
    assert torch.equal(d.x_train, again.x_train) and torch.equal(d.y_val, again.y_val)


def test_regression_loss_is_torch_mse_and_error_its_root():
    spec, d = model_and_data(TrainConfig(dataset="sine", n_samples=120, hidden=(8,), device="cpu"))
    theta = torch.randn(spec.n_params) * 0.3
    loss, rmse = evaluate(spec, theta, d.x_train, d.y_train)
    net = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    torch.nn.utils.vector_to_parameters(theta, net.parameters())
    expected = torch.nn.functional.mse_loss(net(d.x_train)[:, 0], d.y_train).item()
    assert loss == pytest.approx(expected, rel=1e-6) and rmse == pytest.approx(expected**0.5, rel=1e-6)


def test_image_layouts_for_a_cnn():
    assert data.make_dataset("digits", 0, 0.0, 0.2, 0).input_shape == (1, 8, 8)
    assert data.make_dataset("mnist1d", 300, 0.0, 0.2, 0).input_shape == (1, 40)
    assert data.make_dataset("moons", 100, 0.1, 0.2, 0).input_shape == ()


def test_mnist_through_the_config(tmp_path):
    write_mnist(tmp_path, n_train=30, n_test=10)
    config = TrainConfig(dataset="mnist", data_dir=str(tmp_path), subset=25, device="cpu")
    spec, d = model_and_data(config)
    assert len(d.y_train) + len(d.y_val) == 25 and d.input_shape == (1, 28, 28) and spec.n_in == 784
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="lacks"):
        model_and_data(config.replace(data_dir=str(tmp_path / "empty")))


def test_csv_cache_reads_a_changed_file_again(tmp_path):
    path = tmp_path / "t.csv"
    rows = "\n".join(f"{i},{i % 3}" for i in range(30))
    path.write_text("x,label\n" + rows + "\n")
    config = TrainConfig(dataset="csv", csv_path=str(path), device="cpu")
    first = model_and_data(config)[1]
    assert first.n_classes == 3
    time.sleep(0.01)
    path.write_text("x,label\n" + "\n".join(f"{i},{i % 2}" for i in range(40)) + "\n")
    second = model_and_data(config)[1]
    assert second.n_classes == 2 and len(second.y_train) + len(second.y_val) == 40


def test_mnist1d_faster_interpolation_gives_the_same_numbers():
    data.make_dataset("mnist1d", 50, 0.0, 0.2, 0)  # imports the package
    transform = sys.modules["mnist1d.transform"]
    rng = np.random.default_rng(0)
    for _ in range(100):
        x, n = rng.normal(size=int(rng.integers(2, 90))), int(rng.integers(2, 90))
        assert np.array_equal(transform.interpolate(x, n), data._interpolate(x, n))
    two_d = rng.normal(size=(12, 3))
    assert np.array_equal(transform.interpolate(two_d, 7), data._interpolate(two_d, 7))
    assert transform.interpolate is not data._interpolate  # put back after each generation
