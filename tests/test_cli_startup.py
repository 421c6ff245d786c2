"""python -m core starts light: `--help` imports no torch (a command's module is imported only when it runs), the
light command list agrees with each module's own parser, and every command's --help still works."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "numpy", "pandas", "altair", "sklearn", "safetensors", "streamlit")


def _imported(argv: list[str]) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run python -X importtime -m core ARGV; the top-level packages it imported."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "core", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    names = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    return done, names


def test_help_imports_no_torch_nor_any_other_heavy_package():
    done, names = _imported(["--help"])
    assert done.returncode == 0 and done.stdout.startswith("usage: python -m core")
    assert "core" in names  # the measurement saw the project's own imports
    assert not names & set(HEAVY), sorted(names & set(HEAVY))
    for name in cli.COMMANDS:
        assert name in done.stdout


def test_a_wrong_command_is_refused_without_importing_torch():
    done, names = _imported(["trian", "--out", "x"])
    assert done.returncode == 2 and "invalid choice: 'trian'" in done.stderr and "torch" not in names


def test_the_light_parser_lists_what_the_command_modules_register():
    assert cli.build_parser().format_help() == cli.build_parser(cli.MODULES).format_help()
    for module in cli.MODULES:
        parser = cli.build_parser([module])
        (sub,) = [a for a in parser._actions if a.dest == "command"]
        registered = [(a.dest, a.help) for a in sub._choices_actions]
        assert registered == [(name, help_text) for name, (_, help_text) in cli.COMMANDS.items()], module


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_command_answers_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([name, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m core {name}") and "--out" in out


def test_a_command_module_is_imported_only_when_its_command_runs():
    code = ("import sys; from core.cli.main import main\n"
            "try:\n    main(['surface', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('core.cli.')))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    loaded = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert "core.cli.surface" in loaded
    assert not {f"core.cli.{m}" for m in cli.MODULES if m != "surface"} & set(loaded), loaded


@pytest.mark.usefixtures("one_torch_thread")
def test_train_prints_an_rmse_for_a_regression_and_an_error_rate_for_a_classification(tmp_path, capsys):
    small = ["--set", "steps=3", "--set", "n_samples=60", "--set", "hidden=[4]", "--set", "device=cpu"]
    assert cli.main(["train", *small, "--set", "dataset=sine", "--out", str(tmp_path / "sine")]) == 0
    line = capsys.readouterr().out
    assert "val RMSE " in line and "val error" not in line and "%" not in line
    assert cli.main(["train", *small, "--out", str(tmp_path / "moons")]) == 0
    line = capsys.readouterr().out
    assert "val error " in line and "%" in line and "RMSE" not in line
