"""The package (pyproject [project]): its dependencies are requirements.txt's, it lists every package of core and ui,
its console scripts exist, the app's launcher imports no torch, and `pip install -e .` gives both scripts in a fresh
virtual environment (slow)."""

from __future__ import annotations

import importlib
import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SCRIPTS = {"optimizer-playground": "ui.launch:main", "optimizer-playground-cli": "core.cli.entry:cli"}


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def test_dependencies_are_the_lines_of_requirements_txt():
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    assert PYPROJECT["project"]["dependencies"] == [line for line in lines if line]


def test_every_package_of_core_and_ui_is_listed():
    found = sorted(".".join(init.parent.relative_to(ROOT).parts) for top in ("core", "ui")
                   for init in (ROOT / top).rglob("__init__.py"))
    assert sorted(PYPROJECT["tool"]["setuptools"]["packages"]) == found


def test_console_scripts_name_existing_functions():
    assert PYPROJECT["project"]["scripts"] == SCRIPTS
    for target in SCRIPTS.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function))


def test_the_launcher_finds_app_py_and_imports_no_torch():
    code = ("import sys; from ui import launch\nlaunch.main(['--dry-run', '--server.port', '8502'])\n"
            "print('torch' in sys.modules, 'streamlit.web.cli' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=120)
    command, imported = done.stdout.strip().splitlines()
    assert shlex.split(command) == [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
                                    "8502"]
    assert imported == "False False"  # neither torch nor streamlit's server before it is asked to start


@pytest.mark.slow
def test_editable_install_in_a_fresh_venv_gives_both_console_scripts(tmp_path):
    """--system-site-packages and no pip of its own: torch, streamlit, pip and setuptools are the machine's, so
    nothing is downloaded (--no-index); --no-build-isolation builds with the installed setuptools."""
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools.__version__} is older than pyproject's build requirement (>=77)")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python, bin_dir = venv / "bin" / "python", venv / "bin"
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                              "--quiet", "-e", str(ROOT)], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                             timeout=300)
    assert install.returncode == 0, install.stderr[-3000:]

    def run(*argv: str) -> subprocess.CompletedProcess:  # from outside the checkout: the installed package answers
        return subprocess.run([str(bin_dir / argv[0]), *argv[1:]], cwd=tmp_path, env=_env(), capture_output=True,
                              text=True, timeout=120)

    done = run("optimizer-playground-cli", "--help")
    assert done.returncode == 0 and done.stdout.startswith("usage: optimizer-playground-cli"), done.stderr
    assert "fetch-mnist" in done.stdout
    done = run("optimizer-playground-cli", "surface", "--help")
    assert done.returncode == 0 and "usage: optimizer-playground-cli surface" in done.stdout, done.stderr
    assert run("optimizer-playground-cli", "surface", "nope", "--out", str(tmp_path / "o")).returncode == 2
    done = run("optimizer-playground", "--help")
    assert done.returncode == 0 and str(ROOT / "app.py") in done.stdout, done.stderr
    done = run("optimizer-playground", "--dry-run", "--server.port", "8502")  # prints the command, starts nothing
    assert done.returncode == 0, done.stderr
    assert shlex.split(done.stdout) == [str(python), "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
                                        "8502"]
