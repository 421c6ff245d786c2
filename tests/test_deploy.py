"""The Community Cloud recipe: cloud/requirements.txt is the root one plus the CPU build of the same torch."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lines(path: Path) -> list[str]:
    return [line.split("#")[0].strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.split("#")[0].strip()]


def test_cloud_requirements_pin_the_cpu_build_of_the_same_torch():
    root, cloud = _lines(ROOT / "requirements.txt"), _lines(ROOT / "cloud" / "requirements.txt")
    (pinned,) = [re.fullmatch(r"torch==(\S+)", line).group(1) for line in root if line.startswith("torch")]
    assert f"torch=={pinned}+cpu" in cloud  # the local version label picks the CPU wheel, never the CUDA one
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in cloud
    assert "-r ../requirements.txt" in cloud  # everything else exactly as locally


def test_cloud_entrypoint_runs_the_repository_app():
    text = (ROOT / "cloud" / "streamlit_app.py").read_text(encoding="utf-8")
    assert 'runpy.run_path(str(ROOT / "app.py"), run_name="__main__")' in text
