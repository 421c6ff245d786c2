"""The Community Cloud recipe: cloud/requirements.txt pins every package with == (written by cloud/pin.py): the root
requirements at versions they allow, what they pull in, and the CPU build of the same torch."""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _lines(path: Path) -> list[str]:
    return [line.split("#")[0].strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.split("#")[0].strip()]


def test_cloud_requirements_pin_the_cpu_build_of_the_same_torch():
    root, cloud = _lines(ROOT / "requirements.txt"), _lines(ROOT / "cloud" / "requirements.txt")
    (pinned,) = [re.fullmatch(r"torch==(\S+)", line).group(1) for line in root if line.startswith("torch")]
    assert f"torch=={pinned}+cpu" in cloud  # the local version label picks the CPU wheel, never the CUDA one
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in cloud


def _pins(lines: list[str]) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in (line.split("==") for line in lines
                                                                    if not line.startswith("-"))}


def test_every_cloud_package_line_is_pinned_with_double_equals():
    cloud = _lines(ROOT / "cloud" / "requirements.txt")
    options = [line for line in cloud if line.startswith("-")]
    assert options == ["--extra-index-url https://download.pytorch.org/whl/cpu"]  # no -r or -c: nothing floats
    packages = [line for line in cloud if not line.startswith("-")]
    for line in packages:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+", line), f"not pinned with ==: {line!r}"
    assert len(_pins(packages)) == len(packages) > 9  # each package once, more than the direct dependencies


def test_cloud_pins_satisfy_the_root_requirements():
    root = [Requirement(line) for line in _lines(ROOT / "requirements.txt") if not line.startswith("-")]
    pins = _pins(_lines(ROOT / "cloud" / "requirements.txt"))
    for req in root:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in requirements.txt but not pinned for Cloud"
        assert req.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} is outside {req}"
    assert "python cloud/pin.py" in (ROOT / "cloud" / "requirements.txt").read_text(encoding="utf-8")


def test_cloud_entrypoint_runs_the_repository_app():
    text = (ROOT / "cloud" / "streamlit_app.py").read_text(encoding="utf-8")
    assert 'runpy.run_path(str(ROOT / "app.py"), run_name="__main__")' in text
