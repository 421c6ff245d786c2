"""python -m core gradient-noise and depth-signal: their files, columns and printed lines, and how they refuse bad
input (exit 2, one line, before any work, no files left behind)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from safetensors.torch import load_file

from core.cli.main import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")
BASE = {"dataset": "moons", "n_samples": 200, "hidden": [8], "steps": 40, "device": "cpu", "seed": 1}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("noise_run")
    (tmp / "config.json").write_text(json.dumps(BASE), encoding="utf-8")
    assert main(["train", "--config", str(tmp / "config.json"), "--out", str(tmp / "run")]) == 0
    return tmp / "run"


def _refused(argv, capsys, match: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and match in err[0], err


def test_gradient_noise_writes_one_row_and_one_line_per_batch_size(run_dir, tmp_path, capsys):
    out = tmp_path / "noise"
    argv = ["gradient-noise", "--run", str(run_dir), "--batch-sizes", "1,4,16,full", "--samples", "32"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    frame = pd.read_csv(out / "noise.csv")
    assert list(frame.columns[:3]) == ["batch_size", "relative_error_mean", "cosine_mean"]
    assert {"relative_error_std", "cosine_std", "predicted"} <= set(frame.columns)
    assert frame.batch_size.tolist() == [1, 4, 16, 160]  # full = the 160 training examples
    assert frame.relative_error_mean.iloc[-1] == 0 and frame.cosine_mean.iloc[-1] == 1
    assert frame.relative_error_mean.is_monotonic_decreasing
    assert [line.split(":")[0] for line in printed if line.startswith("m = ")] == ["m = 1", "m = 4", "m = 16",
                                                                                   "m = full (160)"]
    assert printed[-1] == f"wrote {out / 'noise.csv'}"
    assert main([*argv, "--out", str(tmp_path / "again")]) == 0  # seeded: the same numbers again
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "again" / "noise.csv"), frame)


def test_gradient_noise_defaults_and_a_saved_step(run_dir, tmp_path, capsys):
    steps = load_file(str(run_dir / "params.safetensors"))["checkpoint_steps"].tolist()
    assert main(["gradient-noise", "--run", str(run_dir), "--out", str(tmp_path / "last")]) == 0
    assert pd.read_csv(tmp_path / "last" / "noise.csv").batch_size.tolist() == [1, 4, 16, 64, 160]
    assert main(["gradient-noise", "--run", str(run_dir), "--step", str(steps[2]), "--batch-sizes", "4",
                 "--out", str(tmp_path / "early")]) == 0
    assert f"at step {steps[2]}:" in capsys.readouterr().out
    early = pd.read_csv(tmp_path / "early" / "noise.csv")
    assert early.predicted.iloc[0] != pd.read_csv(tmp_path / "last" / "noise.csv").predicted.iloc[1]


@pytest.mark.parametrize(("extra", "match"), [
    (["--batch-sizes", "1,x"], "'x' is not one"),
    (["--batch-sizes", "0"], "at least 1"),
    (["--batch-sizes", "1,-4"], "'-4' is not one"),
    (["--batch-sizes", "4,4"], "twice"),
    (["--batch-sizes", "161"], "training split, which has 160 examples"),
    (["--batch-sizes", "160,full"], "same batch"),
    (["--samples", "0"], "--samples takes a whole number from 1 to 10,000"),
    (["--samples", "10001"], "--samples"),
    (["--samples", "many"], "--samples"),
    (["--step", "7"], "has no checkpoint at step 7; it has [0,"),
    (["--step", "last"], "--step takes a whole number"),
])
def test_gradient_noise_refuses_bad_input_in_one_line(run_dir, tmp_path, capsys, extra, match):
    out = tmp_path / "refused"
    _refused(["gradient-noise", "--run", str(run_dir), *extra, "--out", str(out)], capsys, match)
    assert not out.exists()


def test_gradient_noise_refuses_a_missing_run_folder(tmp_path, capsys):
    _refused(["gradient-noise", "--run", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")], capsys,
             "does not exist")


def test_depth_signal_writes_one_row_per_scale_and_layer(tmp_path, capsys):
    out = tmp_path / "signal"
    assert main(["depth-signal", "--set", "dataset=digits", "--set", "activation=relu", "--hidden",
                 ",".join(["16"] * 10), "--scales", "0.5,1,2", "--n", "64", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    frame = pd.read_csv(out / "signal.csv")
    assert list(frame.columns) == ["scale", "layer", "activation_std", "grad_norm"]
    assert len(frame) == 3 * 11 and frame.layer.max() == 11
    assert sorted(frame.scale.unique()) == [0.5, 1.0, 2.0]
    assert (frame.activation_std > 0).all() and (frame.grad_norm > 0).all()
    assert "std s=0.5" in printed and f"wrote {out / 'signal.csv'}" in printed
    # more scale, more signal at the last hidden layer
    last = frame[frame.layer == 10].set_index("scale").activation_std
    assert last[0.5] < last[1.0] < last[2.0]


def test_depth_signal_uses_the_config_network_without_hidden(tmp_path):
    config = tmp_path / "c.json"
    config.write_text(json.dumps(BASE), encoding="utf-8")
    assert main(["depth-signal", "--config", str(config), "--scales", "1", "--out", str(tmp_path / "s")]) == 0
    assert pd.read_csv(tmp_path / "s" / "signal.csv").layer.tolist() == [1, 2]


@pytest.mark.parametrize(("extra", "match"), [
    (["--hidden", ",".join(["8"] * 11)], "hidden must be 1 to 10 widths"),
    (["--hidden", "8,x"], "--hidden takes comma-separated widths"),
    (["--hidden", "8,0"], "hidden must be 1 to 10 widths"),
    (["--hidden", "2048"], "each a whole number from 1 to 1024"),
    (["--scales", "0"], "init scale must be a number > 0"),
    (["--scales", "1,big"], "'big' is not one"),
    (["--scales", "nan"], "init scale"),
    (["--n", "0"], "--n takes a whole number >= 1"),
    (["--set", "activation=swish"], "activation must be one of"),
])
def test_depth_signal_refuses_bad_input_in_one_line(tmp_path, capsys, extra, match):
    out = tmp_path / "refused"
    _refused(["depth-signal", "--set", "dataset=moons", *extra, "--out", str(out)], capsys, match)
    assert not out.exists()
