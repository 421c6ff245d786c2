"""`python -m core surface` (core/cli_surface.py), through a parser built here as core/cli/main.py builds its own."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from core.cli import surface as cli_surface

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m core")
    sub = parser.add_subparsers(dest="command", required=True)
    cli_surface.register(sub)
    args = parser.parse_args(["surface", *argv])
    return args.func(args)


def test_writes_one_row_per_step_per_optimizer_from_the_start(tmp_path, capsys):
    rc = _run(["rosenbrock", "--optimizers", "sgd,momentum,adam,newton", "--start=-1.5,2", "--steps", "40",
               "--out", str(tmp_path)])
    assert rc == 0
    frame = pd.read_csv(tmp_path / "path.csv")
    assert list(frame.columns) == ["optimizer", "step", "x", "y", "f"]
    assert list(dict.fromkeys(frame["optimizer"])) == ["sgd", "momentum", "adam", "newton"]
    for _, part in frame.groupby("optimizer"):
        assert part["step"].tolist() == list(range(41))
        assert tuple(part.iloc[0][["x", "y"]]) == (-1.5, 2.0)
    np.testing.assert_allclose(frame["f"], (1 - frame["x"]) ** 2 + 100 * (frame["y"] - frame["x"] ** 2) ** 2,
                               rtol=1e-12, atol=1e-300)
    newton = frame[frame["optimizer"] == "newton"].iloc[-1]
    assert (newton["x"], newton["y"]) == pytest.approx((1.0, 1.0), abs=1e-9)
    assert "newton: step 40" in capsys.readouterr().out


def test_learning_rates_and_newtons_default(tmp_path):
    # bowl with condition 1: f = ½‖p‖², so one sgd step is p(1 − lr) and Newton (lr 1) jumps to 0
    _run(["bowl", "--condition", "1", "--optimizers", "sgd:0.25,momentum,newton", "--lr", "0.5", "--momentum", "0",
          "--start", "2,1", "--steps", "1", "--out", str(tmp_path)])
    frame = pd.read_csv(tmp_path / "path.csv").set_index(["optimizer", "step"])
    assert tuple(frame.loc[("sgd", 1), ["x", "y"]]) == pytest.approx((1.5, 0.75))
    assert tuple(frame.loc[("momentum", 1), ["x", "y"]]) == pytest.approx((1.0, 0.5))
    assert tuple(frame.loc[("newton", 1), ["x", "y"]]) == pytest.approx((0.0, 0.0), abs=1e-15)


def test_defaults_and_a_path_that_leaves_the_map(tmp_path, capsys):
    assert _run(["saddle", "--out", str(tmp_path)]) == 0
    frame = pd.read_csv(tmp_path / "path.csv")
    assert set(frame["optimizer"]) == {"sgd", "newton", "saddle-free"}
    assert frame.groupby("optimizer")["step"].max()["newton"] == 40
    assert "left the map" in capsys.readouterr().out


def test_figures(tmp_path):
    _run(["himmelblau", "--steps", "20", "--out", str(tmp_path), "--png", "--svg"])
    for name in ("surface", "loss"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (tmp_path / f"{name}.svg").read_text(encoding="utf-8")[:500]


@pytest.mark.parametrize(("argv", "match"), [
    (["nope"], "unknown surface 'nope'"),
    (["bowl", "--start", "1"], "two numbers x,y"),
    (["bowl", "--start", "a,b"], "two numbers x,y"),
    (["bowl", "--start", "1,inf"], "finite"),
    (["bowl", "--steps", "0"], "steps must be from 1 to 10,000"),
    (["bowl", "--steps", "10001"], "steps must be from 1 to 10,000"),
    (["bowl", "--optimizers", "sgd,lbfgs"], "unknown optimizer 'lbfgs'"),
    (["bowl", "--optimizers", "sgd:fast"], "must be a number"),
    (["bowl", "--lr", "-1"], "learning rate"),
    (["bowl", "--noise", "-0.1"], "noise"),
    (["bowl", "--condition", "0"], "condition number"),
])
def test_bad_input_is_one_clear_value_error(tmp_path, argv, match):
    with pytest.raises(ValueError, match=match) as info:
        _run([*argv, "--out", str(tmp_path / "out")])
    message = str(info.value)
    assert "\n" not in message and message.endswith(".")
    assert not (tmp_path / "out" / "path.csv").exists()
