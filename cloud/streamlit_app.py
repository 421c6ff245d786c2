"""Streamlit Community Cloud's entrypoint: Cloud reads cloud/requirements.txt (the CPU build of torch) beside this
file before the root one; the app itself is the repository's app.py, unchanged."""

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
