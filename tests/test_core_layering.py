"""core/ is the headless layer: nothing in it may import streamlit.

`lint-imports` (pyproject.toml [tool.importlinter], run below) checks the layers and the "core never imports
streamlit" contract on every import statement of core's packages. It does not see two things, which the syntax-tree
sweep here checks in one test: imports by name (`__import__('streamlit')`, `importlib.import_module('streamlit')`),
and .py files in a folder without __init__.py, which import-linter does not analyse at all."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "core"
FORBIDDEN = {"streamlit"}


def imported_modules(source: str) -> set[str]:
    """Top-level package names imported by `import x`, `from x import y`, __import__('x') or import_module('x')."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in ("__import__", "import_module") and isinstance(node.args[0].value, str):
                found.add(node.args[0].value.split(".")[0])
    return found


def _core_files():
    files = sorted(CORE.rglob("*.py"))
    assert files, f"no Python files under {CORE}"
    return files


def test_no_core_file_imports_streamlit_even_where_import_linter_cannot_see():
    offenders = [str(p.relative_to(CORE)) for p in _core_files()
                 if imported_modules(p.read_text(encoding="utf-8")) & FORBIDDEN]
    assert not offenders


def test_core_is_packages_by_role():
    names = {str(p.relative_to(CORE).with_suffix("")) for p in _core_files()}
    assert {"model/config", "model/data", "model/networks", "model/optim", "train/run", "train/store", "train/live",
            "train/worker", "probes/interpolation", "probes/straying", "probes/curvature", "charts/training",
            "cli/main", "cli/rundir", "presets", "frames"} <= names
    assert not any(len(p.read_text(encoding="utf-8").splitlines()) > 330 for p in _core_files())


def test_import_contracts_hold():
    """The layers and forbidden imports of pyproject.toml's [tool.importlinter] (function-local imports count too)."""
    lint = shutil.which("lint-imports")
    if lint is None:
        pytest.fail("import-linter is not installed: pip install -r requirements-dev.txt")
    result = subprocess.run([lint, "--no-cache"], cwd=CORE.parent, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(CORE.parent)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    "snippet",
    [
        "import streamlit as st",
        "import streamlit.components.v1",
        "from streamlit import session_state",
        "from streamlit.runtime import exists",
        "def f():\n    import streamlit\n",
        "try:\n    import numpy, streamlit\nexcept ImportError:\n    pass\n",
        "st = __import__('streamlit')",
        "import importlib\nst = importlib.import_module('streamlit.web')",
    ],
)
def test_the_detector_sees_every_form_of_import(snippet):
    assert "streamlit" in imported_modules(snippet)


@pytest.mark.parametrize("snippet", ["import streamlit_like", "x = 'import streamlit'", "# import streamlit",
                                     "from . import streamlit"])
def test_the_detector_ignores_lookalikes(snippet):
    assert "streamlit" not in imported_modules(snippet)
