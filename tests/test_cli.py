"""python -m core train: the files it writes, what they must agree on, and how it refuses bad input."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from core.cli import main as cli
from core.model.config import TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")


ROOT = Path(__file__).resolve().parents[1]
BASE = {"steps": 60, "n_samples": 200, "hidden": [8], "log_every": 7, "device": "cpu", "seed": 1}
GOOD_SETS = ["hidden=[16,16]", "lr=0.1", "dataset=moons"]
DIVERGE_SETS = ["activation=relu", "lr=900", "init_scale=3", "optimizer=sgd", "hidden=[32,32]", "steps=200"]

# name -> (config file or None, --set items, field the one-line error must name)
BAD = {
    "negative_lr": ("base", ["lr=-1"], "lr"),
    "unknown_field": ("base", ["learning_rate=0.1"], "learning_rate"),
    "unknown_dataset": ("base", ["dataset=nope"], "dataset"),
    "zero_width": ("base", ["hidden=[0]"], "hidden"),
    "malformed_json": ("malformed", [], "malformed.json"),
    "missing_file": ("missing", [], "missing.json"),
    "set_without_equals": ("base", ["lr"], "--set"),
}


SUBPROCESS_BAD = ("negative_lr",)  # the rest of BAD runs in-process through the same main()


def _launch(args, out):
    cmd = [sys.executable, "-m", "core", "train", *args, "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # several at once on a small machine
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _bad_args(files, case):
    file_key, sets, _ = BAD[case]
    return ["--config", str(files[file_key])] + [a for s in sets for a in ("--set", s)]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli_files")
    paths = {"base": tmp / "base.json", "malformed": tmp / "malformed.json", "missing": tmp / "missing.json"}
    paths["base"].write_text(json.dumps(BASE), encoding="utf-8")
    paths["malformed"].write_text('{"steps": 60, "lr": }', encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory, files):
    """The command lines run as real processes, started at once (each pays for importing torch) and awaited here."""
    tmp = tmp_path_factory.mktemp("cli")
    jobs = {}
    args = ["--config", str(files["base"])] + [a for s in GOOD_SETS for a in ("--set", s)]
    jobs["good_a"] = (_launch(args, tmp / "good_a"), tmp / "good_a")
    args = ["--config", str(files["base"])] + [a for s in DIVERGE_SETS for a in ("--set", s)]
    jobs["diverge"] = (_launch(args, tmp / "diverge"), tmp / "diverge")
    for name in SUBPROCESS_BAD:
        jobs[name] = (_launch(_bad_args(files, name), tmp / name), tmp / name)
    results = {}
    for name, (proc, out) in jobs.items():
        stdout, stderr = proc.communicate(timeout=300)
        results[name] = {"rc": proc.returncode, "stdout": stdout, "stderr": stderr, "out": out}
    return results


def _expected_config() -> TrainConfig:
    return TrainConfig(**{**BASE, "hidden": (16, 16), "lr": 0.1, "dataset": "moons"})


# ---- a good run -------------------------------------------------------------------------------------------------
def test_good_run_exits_zero_and_writes_every_file(cli_runs):
    r = cli_runs["good_a"]
    assert r["rc"] == 0, r["stderr"]
    assert "Traceback" not in r["stderr"]
    assert "step 60" in r["stdout"]
    for name in ("config.json", "metrics.csv", "interpolation.csv", "straying.csv", "params.safetensors"):
        assert (r["out"] / name).is_file(), name


def test_config_json_is_the_full_resolved_config(cli_runs):
    written = json.loads((cli_runs["good_a"]["out"] / "config.json").read_text(encoding="utf-8"))
    assert written == _expected_config().to_dict()
    assert written["hidden"] == [16, 16] and written["lr"] == 0.1 and written["dataset"] == "moons"
    assert written["steps"] == 60 and written["momentum"] == TrainConfig().momentum  # file value, default value
    assert set(written) == set(TrainConfig().to_dict())


def test_metrics_csv_rows_and_columns(cli_runs):
    path = cli_runs["good_a"]["out"] / "metrics.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {"step", "train_loss", "val_loss", "train_error", "val_error", "grad_norm", "param_norm"} <= set(rows[0])
    steps = [int(r["step"]) for r in rows]
    assert steps == [0, 7, 14, 21, 28, 35, 42, 49, 56, 60]
    assert rows[0]["grad_norm"] == ""  # no step produced theta_0
    assert all(float(r["grad_norm"]) > 0 for r in rows[1:])
    params = load_file(str(cli_runs["good_a"]["out"] / "params.safetensors"))
    for row, key in ((rows[0], "theta_init"), (rows[-1], "theta_final")):
        expected = float(torch.linalg.vector_norm(params[key].double()))
        assert float(row["param_norm"]) == pytest.approx(expected, rel=1e-6)


def test_interpolation_csv_endpoints_equal_metrics_endpoints(cli_runs):
    out = cli_runs["good_a"]["out"]
    interp = pd.read_csv(out / "interpolation.csv")
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(interp.columns) == ["alpha", "train_loss", "val_loss", "train_error", "val_error"]
    assert (interp.alpha == 0.0).sum() == 1 and (interp.alpha == 1.0).sum() == 1
    assert len(interp) == _expected_config().interp_points
    for alpha, row in ((0.0, metrics.iloc[0]), (1.0, metrics.iloc[-1])):
        at = interp[interp.alpha == alpha].iloc[0]
        for col in ("train_loss", "val_loss"):
            np.testing.assert_allclose(at[col], row[col], rtol=1e-5)
        for col in ("train_error", "val_error"):
            np.testing.assert_allclose(at[col], row[col], atol=1e-9)
    assert metrics.train_loss.iloc[-1] < metrics.train_loss.iloc[0]  # it trained


def test_straying_csv_against_saved_parameters(cli_runs):
    out = cli_runs["good_a"]["out"]
    stray = pd.read_csv(out / "straying.csv")
    params = load_file(str(out / "params.safetensors"))
    assert set(params) == {"theta_init", "theta_final", "checkpoints", "checkpoint_steps"}
    steps = params["checkpoint_steps"].tolist()
    assert steps[0] == 0 and steps[-1] == 60 and len(steps) <= 17 and steps == sorted(set(steps))
    assert torch.equal(params["checkpoints"][0], params["theta_init"].float())
    assert torch.equal(params["checkpoints"][-1], params["theta_final"].float())
    assert set(steps) <= set(stray.step)  # the checkpoints are points of the stored trajectory
    assert list(stray.columns) == ["step", "projection", "residual", "param_norm"]
    assert stray.step.iloc[0] == 0 and stray.step.iloc[-1] == 60
    length = float(torch.linalg.vector_norm(params["theta_final"].double() - params["theta_init"].double()))
    assert length > 0.1
    assert abs(stray.residual.iloc[0]) <= 1e-9 * length
    assert abs(stray.residual.iloc[-1]) <= 1e-9 * length
    assert stray.projection.iloc[-1] == pytest.approx(length, rel=1e-9)
    assert stray.residual.max() > 0


def test_same_config_twice_gives_byte_identical_files(cli_runs, files, tmp_path, capsys):
    """A second run (in this process, through the same main()) writes the same bytes as the subprocess."""
    args = ["train", "--config", str(files["base"])] + [a for s in GOOD_SETS for a in ("--set", s)]
    assert cli.main([*args, "--out", str(tmp_path / "again")]) == 0
    capsys.readouterr()
    a = cli_runs["good_a"]["out"]
    for name in ("metrics.csv", "interpolation.csv", "straying.csv", "config.json"):
        assert (a / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name


# ---- divergence ---------------------------------------------------------------------------------------------------
def test_diverging_run_exits_nonzero_with_message_and_still_writes(cli_runs):
    r = cli_runs["diverge"]
    assert r["rc"] not in (0, 2)
    assert "diverged" in r["stderr"]
    assert "Traceback" not in r["stderr"]
    metrics = pd.read_csv(r["out"] / "metrics.csv")
    assert metrics.step.iloc[0] == 0 and 0 < metrics.step.iloc[-1] < 200
    assert np.isfinite(metrics.param_norm).all()
    for name in ("config.json", "interpolation.csv", "straying.csv", "params.safetensors"):
        assert (r["out"] / name).is_file(), name
    params = load_file(str(r["out"] / "params.safetensors"))
    assert torch.isfinite(params["theta_final"]).all()


# ---- bad input -------------------------------------------------------------------------------------------------
def _check_one_line(rc, stdout, stderr, field):
    assert rc == 2, (stdout, stderr)
    assert "Traceback" not in stderr and "Traceback" not in stdout
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert field in lines[0]


@pytest.mark.parametrize("case", SUBPROCESS_BAD)
def test_bad_input_subprocess_is_one_line_exit_two(cli_runs, case):
    r = cli_runs[case]
    _check_one_line(r["rc"], r["stdout"], r["stderr"], BAD[case][2])
    assert not (r["out"] / "metrics.csv").exists()


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_exit_two(files, tmp_path, capsys, case):
    rc = cli.main(["train", *_bad_args(files, case), "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    _check_one_line(rc, captured.out, captured.err, BAD[case][2])
    assert not (tmp_path / "o" / "metrics.csv").exists()


# ---- edge cases found while testing (in-process: same main(), no torch import per case) -------------------------
def _main(capsys, argv):
    rc = cli.main(argv)
    captured = capsys.readouterr()
    return rc, captured.err


@pytest.mark.parametrize("seed", [2**64, 10**20])
def test_huge_seed_is_rejected_naming_the_field(capsys, tmp_path, seed):
    rc, err = _main(capsys, ["train", "--set", f"seed={seed}", "--set", "steps=1", "--set", "n_samples=20",
                             "--set", "device=cpu", "--out", str(tmp_path / "o")])
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and "seed" in err


def test_config_path_that_is_a_directory_is_one_line_exit_two(capsys, tmp_path):
    rc, err = _main(capsys, ["train", "--config", str(tmp_path), "--out", str(tmp_path / "o")])
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and str(tmp_path) in err


def test_in_process_main_agrees_with_the_subprocess(capsys, tmp_path):
    rc, err = _main(capsys, ["train", "--set", "hidden=[0]", "--out", str(tmp_path / "o")])
    assert rc == 2 and err.startswith("error: hidden") and len(err.strip().splitlines()) == 1
