"""The --out folder of every command: checked (and made) before any work, taken away again when the command fails.
Light on purpose: core.cli.main imports it before it knows which command runs."""

from __future__ import annotations

import contextlib
from pathlib import Path


def prepare_out(path: str) -> list[Path]:
    """Check an --out folder before any work: it exists or can be made, and files can be written in it. Returns the
    folders it made (deepest last), so that a command that then fails can take them away again."""
    if not str(path).strip():
        raise ValueError("--out must name a folder, got an empty string")
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {path!r} is a file, not a folder")
    blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ValueError(f"--out {path!r} lies under {str(blocking)!r}, which is a file")
    made = [p for p in (*reversed(out.parents), out) if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        remove_empty(made)
        raise ValueError(f"--out {path!r} cannot be written: {exc.strerror or exc}") from None
    return made


def remove_empty(folders: list[Path]) -> None:
    """Remove the folders prepare_out made, deepest first, where they are still empty."""
    for folder in reversed(folders):
        with contextlib.suppress(OSError):
            folder.rmdir()
