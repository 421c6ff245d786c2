"""`optimizer-playground` (pyproject [project.scripts]): `streamlit run <the checkout's app.py>` with the given
arguments passed through, from any folder. Streamlit reads the .streamlit/config.toml beside app.py wherever it is
started from. The app runs from the repository (app.py and pages/ sit beside ui/), which `pip install -e .` keeps."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

USAGE = """usage: optimizer-playground [--dry-run] [STREAMLIT-RUN-OPTIONS ...] [-- APP-ARGS ...]

Starts the optimizer playground: streamlit run {app} with the arguments passed through
(`streamlit run --help` lists its options, e.g. --server.port 8502).

  -h, --help   show this message and exit
  --dry-run    print the command it would run and exit, without starting a server
"""


def app_path() -> Path:
    """The checkout's app.py, beside the ui package."""
    return Path(__file__).resolve().parents[1] / "app.py"


def command(args: list[str]) -> list[str]:
    """The streamlit command line for these arguments."""
    return [sys.executable, "-m", "streamlit", "run", str(app_path()), *args]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    ours = args[: args.index("--")] if "--" in args else args  # after --, everything is the app's
    if "-h" in ours or "--help" in ours:
        print(USAGE.format(app=app_path()), end="")
        return 0
    app = app_path()
    if not app.is_file():
        print(f"error: {app} not found: the app runs from a checkout of the repository, installed with "
              "`pip install -e .`", file=sys.stderr)
        return 2
    if "--dry-run" in ours:
        args.remove("--dry-run")
        print(shlex.join(command(args)))
        return 0
    from streamlit.web import cli as streamlit_cli  # imported only to start the server

    return streamlit_cli.main(["run", str(app), *args], prog_name="streamlit")
