"""python -m core random-walk / convex-paths / deep-linear: the files they write and how they refuse bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.cli import main as cli
from core.cli import paper as cli_paper

pytestmark = pytest.mark.usefixtures("one_torch_thread")
PNG = b"\x89PNG\r\n\x1a\n"


def test_random_walk_writes_its_csv_and_png(tmp_path, capsys):
    out = tmp_path / "rw"
    assert cli.main(["random-walk", "--dims", "2,10,100000", "--steps", "300", "--solution-step", "250",
                     "--seed", "4", "--out", str(out), "--png"]) == 0
    frame = pd.read_csv(out / "random_walk.csv")
    assert list(frame.columns) == ["dim", "step", "projection", "residual"]
    assert len(frame) == 3 * 301 and sorted(set(frame["dim"])) == [2, 10, 100_000]
    at_solution = frame[frame["step"] == 250]
    assert (at_solution["residual"] < 1e-9 * at_solution["projection"]).all()
    assert (out / "random_walk.png").read_bytes().startswith(PNG)
    assert not (out / "random_walk.svg").exists()
    assert "d = 100,000" in capsys.readouterr().out


def test_convex_paths_writes_paths_and_summary_and_names_the_failures(tmp_path, capsys):
    out = tmp_path / "cx"
    assert cli.main(["convex-paths", "--dim", "1000", "--settings", "0.5:0,0.1:0.9,2.5:0", "--condition", "50",
                     "--steps", "5000", "--out", str(out)]) == 0
    paths, summary = pd.read_csv(out / "convex_paths.csv"), pd.read_csv(out / "convex_summary.csv")
    assert list(paths.columns) == ["setting", "step", "projection", "residual"]
    assert list(summary.columns) == ["setting", "lr", "momentum", "steps", "converged", "max_residual",
                                     "final_distance"]
    assert summary["converged"].tolist() == [True, True, False]
    assert set(paths["setting"]) == {"ε=0.5, μ=0", "ε=0.1, μ=0.9", "ε=2.5, μ=0"}
    printed = capsys.readouterr().out
    assert "condition number 50" in printed and "did not converge: ε=2.5, μ=0" in printed


def test_deep_linear_writes_the_line_and_both_figures(tmp_path, capsys):
    out = tmp_path / "dl"
    assert cli.main(["deep-linear", "--from", "2,0.5", "--to", "0.5,2", "--points", "11", "--alpha-min", "-0.5",
                     "--alpha-max", "1.5", "--out", str(out), "--svg"]) == 0
    frame = pd.read_csv(out / "deep_linear.csv")
    assert list(frame.columns) == ["alpha", "numeric", "closed_form"]
    assert len(frame) == 13  # 11 points on [-0.5, 1.5] (step 0.2), plus 0 and 1 inserted exactly
    assert {0.0, 1.0} <= set(frame["alpha"])
    expected = (((1 - frame.alpha) * 2 + frame.alpha * 0.5) * ((1 - frame.alpha) * 0.5 + frame.alpha * 2) - 1) ** 2
    np.testing.assert_allclose(frame["closed_form"], expected, rtol=1e-12)
    np.testing.assert_allclose(frame["numeric"], expected, rtol=1e-12)
    for name in ("deep_linear.svg", "deep_linear_surface.svg"):
        assert (out / name).read_text(encoding="utf-8").lstrip().startswith("<svg")
    assert "barrier 0.3164" in capsys.readouterr().out


def test_a_negative_start_is_written_with_equals(tmp_path):
    assert cli.main(["deep-linear", "--from=-3,2.5", "--to", "1,1", "--points", "5", "--out", str(tmp_path)]) == 0
    assert pd.read_csv(tmp_path / "deep_linear.csv")["closed_form"].iloc[0] == pytest.approx((-7.5 - 1) ** 2)


@pytest.mark.parametrize("args, words", [
    (["random-walk", "--dims", "2,x"], "whole numbers"),
    (["random-walk", "--dims", "2", "--steps", "100", "--solution-step", "101"], "solution step"),
    (["convex-paths", "--dim", "10", "--settings", "0.1:1"], "momentum"),
    (["convex-paths", "--dim", "0"], "dimension"),
    (["convex-paths", "--dim", "10", "--condition", "0.5"], "condition"),
    (["deep-linear", "--from", "1", "--to", "1,1"], "--from point"),
    (["deep-linear", "--from", "1,1", "--to", "1,1", "--alpha-min", "1", "--alpha-max", "0"], "α range"),
    (["deep-linear", "--from", "1,1", "--to", "1,1", "--points", "1"], "points"),
])
def test_bad_input_exits_2_with_one_sentence(tmp_path, capsys, args, words):
    assert cli.main([*args, "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and words in err and "\n" not in err and err.endswith(".")
    assert not (tmp_path / "bad").exists()


def test_argparse_refuses_a_non_integer_step_count(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["random-walk", "--steps", "ten", "--out", str(tmp_path)])
    assert exc.value.code == 2 and "--steps" in capsys.readouterr().err


def test_the_plain_functions_can_be_called_directly(tmp_path):
    frame = cli_paper.write_random_walk(tmp_path, [3], 20, 10, seed=1)
    assert (tmp_path / "random_walk.csv").is_file() and len(frame) == 21
    problem, paths, summary = cli_paper.write_convex_paths(tmp_path, 50, [(0.5, 0.0)], 10.0, 2000)
    assert summary["converged"].item() and problem.condition == pytest.approx(10.0)
    line = cli_paper.write_deep_linear(tmp_path, (0.06, -0.04), (1.0, 1.0), 21)
    assert line["alpha"].tolist() == pytest.approx(np.linspace(0, 1, 21).tolist())
