"""Console scripts of the installed package (pyproject [project.scripts]); the app's launcher is ui/launch.py."""

from __future__ import annotations

import sys

from core.cli.main import main


def cli() -> int:
    """optimizer-playground-cli: `python -m core`, the same commands, arguments and exit codes."""
    return main(sys.argv[1:], prog="optimizer-playground-cli")
