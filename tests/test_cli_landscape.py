"""python -m core plane: its files and columns, identities they must satisfy, and how it refuses bad input."""

from __future__ import annotations

import argparse
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file

from core.cli import landscape as cli_landscape
from core.cli import main as cli
from core.cli.rundir import load_run_dir
from core.model import networks
from core.model.build import model_and_data

pytestmark = pytest.mark.usefixtures("one_torch_thread")
BASE = {"steps": 60, "n_samples": 200, "hidden": [8], "log_every": 7, "device": "cpu", "seed": 1}


def plane_main(argv: list[str]) -> int:
    """What core.cli.main does for a registered command: parse, run, and turn ValueError into exit 2."""
    parser = argparse.ArgumentParser(prog="python -m core")
    cli_landscape.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plane_run")
    config = tmp / "config.json"
    config.write_text(json.dumps(BASE), encoding="utf-8")
    assert cli.main(["train", "--config", str(config), "--out", str(tmp / "run")]) == 0
    return tmp / "run"


def _captured(out: str) -> float:
    return float(re.search(r"captured variance ([0-9.]+)", out).group(1))


def test_pca_plane_writes_its_files_and_they_agree_with_the_saved_parameters(run_dir, tmp_path, capsys):
    out = tmp_path / "pca"
    assert plane_main(["plane", "--run", str(run_dir), "--grid", "9", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    grid, traj = pd.read_csv(out / "grid.csv"), pd.read_csv(out / "trajectory.csv")
    assert list(grid.columns) == ["a", "b", "train_loss", "val_loss"] and len(grid) == 81
    assert list(traj.columns) == ["step", "a", "b", "distance"]
    params = load_file(str(run_dir / "params.safetensors"))
    steps, thetas = params["checkpoint_steps"].tolist(), params["checkpoints"].double().numpy()
    assert traj["step"].tolist() == steps
    d = thetas - thetas[0]
    length = np.linalg.norm(params["theta_final"].double().numpy() - params["theta_init"].double().numpy())
    assert traj.iloc[0][["a", "b", "distance"]].tolist() == pytest.approx([0, 0, 0], abs=1e-9)
    assert traj.iloc[-1][["a", "b", "distance"]].tolist() == pytest.approx([length, 0, 0], abs=1e-6 * length)
    assert np.allclose(traj["a"] ** 2 + traj["b"] ** 2 + traj["distance"] ** 2, (d * d).sum(1), rtol=1e-8)
    share = (traj["a"] ** 2 + traj["b"] ** 2).sum() / (d * d).sum()
    assert _captured(printed) == pytest.approx(share, abs=1e-4)
    assert grid["a"].min() < 0 < length < grid["a"].max()  # the grid covers θ_i and θ_f with a margin
    assert f"{traj['distance'].max():.4g}" in printed


def test_grid_loss_at_theta_i_matches_the_network(run_dir, tmp_path, capsys):
    out = tmp_path / "random"
    # --span 0: the grid's first column is a = 0 and, b being symmetric with 5 points, θ_i is a grid point
    assert plane_main(["plane", "--run", str(run_dir), "--direction", "random", "--seed", "3", "--grid", "5",
                       "--span", "0", "--out", str(out)]) == 0
    capsys.readouterr()
    grid = pd.read_csv(out / "grid.csv")
    record = load_run_dir(str(run_dir))
    spec, data = model_and_data(record.config)
    at_origin = grid[(grid["a"] == 0) & np.isclose(grid["b"], 0, atol=1e-12)]
    assert len(at_origin) == 1
    expected = float(networks.loss_fn(spec, record.theta_init, data.x_train, data.y_train))
    assert at_origin["train_loss"].iloc[0] == pytest.approx(expected, rel=1e-5)
    # another seed gives another plane; the same seed the same one
    again, other = tmp_path / "again", tmp_path / "other"
    plane_main(["plane", "--run", str(run_dir), "--direction", "random", "--seed", "3", "--grid", "5", "--span", "0",
                "--out", str(again)])
    plane_main(["plane", "--run", str(run_dir), "--direction", "random", "--seed", "4", "--grid", "5", "--span", "0",
                "--out", str(other)])
    assert pd.read_csv(again / "trajectory.csv").equals(pd.read_csv(out / "trajectory.csv"))
    assert not pd.read_csv(other / "trajectory.csv")["b"].equals(pd.read_csv(out / "trajectory.csv")["b"])


def test_replay_gives_one_point_per_logged_step_and_figures(run_dir, tmp_path, capsys):
    out = tmp_path / "replay"
    assert plane_main(["plane", "--run", str(run_dir), "--grid", "5", "--replay", "--png", "--out", str(out)]) == 0
    assert "replayed" in capsys.readouterr().out
    traj = pd.read_csv(out / "trajectory.csv")
    logged = pd.read_csv(run_dir / "metrics.csv")["step"].tolist()
    saved = load_file(str(run_dir / "params.safetensors"))["checkpoint_steps"].tolist()
    assert traj["step"].tolist() == sorted(set(logged) | set(saved))
    assert (out / "plane.png").read_bytes()[:4] == b"\x89PNG" and (out / "fig7.png").stat().st_size > 1000


@pytest.mark.parametrize("args, words", [
    (["--run", "/nonexistent/run", "--out", "OUT"], "does not exist"),
    (["--run", "RUN", "--grid", "1", "--out", "OUT"], "--grid"),
    (["--run", "RUN", "--span", "-1", "--out", "OUT"], "--span"),
])
def test_bad_input_exits_2_with_one_line(run_dir, tmp_path, capsys, args, words):
    args = [str(run_dir) if a == "RUN" else str(tmp_path / "o") if a == "OUT" else a for a in args]
    assert plane_main(["plane", *args]) == 2
    printed = capsys.readouterr().out.strip()
    assert words in printed and printed.count("\n") == 0


def test_a_run_that_never_moved_is_refused(run_dir, tmp_path, capsys):
    still = tmp_path / "still"
    shutil.copytree(run_dir, still)
    params = load_file(str(still / "params.safetensors"))
    theta = params["theta_init"]
    save_file({"theta_init": theta, "theta_final": theta.clone(), "checkpoints": torch.stack([theta, theta]),
               "checkpoint_steps": torch.tensor([0, 60])}, str(still / "params.safetensors"))
    assert plane_main(["plane", "--run", str(still), "--out", str(tmp_path / "o")]) == 2
    assert "θ_f equals θ_i" in capsys.readouterr().out


def test_unknown_direction_is_an_argparse_error(run_dir, tmp_path):
    with pytest.raises(SystemExit) as exc:
        plane_main(["plane", "--run", str(run_dir), "--direction", "sideways", "--out", str(tmp_path)])
    assert exc.value.code == 2
