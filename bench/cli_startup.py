"""The command line's start-up against importing torch alone, each in a fresh process.

    python bench/cli_startup.py [--tries 5] [--command "-m core --help"]

Alternates `python -m core --help` (core/cli/main.py: the parser from light descriptions, no command module
imported) and `python -c "import torch"`, each a new interpreter started from the repository root, `--tries` times
each; prints every wall-clock time, the medians and their ratio. The target is under 0.5 s for the help and a small
fraction of torch's import. On a shared, busy machine the numbers move with the load: compare the ratio.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *argv], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=5, help="runs of each side (default 5)")
    parser.add_argument("--command", default="-m core --help", help="the CLI side's interpreter arguments")
    args = parser.parse_args()
    sides = {f"python {args.command}": shlex.split(args.command), 'python -c "import torch"': ["-c", "import torch"]}
    times: dict[str, list[float]] = {name: [] for name in sides}
    seconds(["-c", "pass"])  # the interpreter's own files into the page cache before the first timed run
    for _ in range(args.tries):
        for name, argv in sides.items():
            times[name].append(seconds(argv))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:32s} median {medians[name]:.3f} s  ({', '.join(f'{v:.3f}' for v in values)})")
    cli, torch = medians.values()
    print(f"ratio (CLI / import torch): {cli / torch:.3f}; the CLI starts {torch / cli:.1f}x faster than torch imports")


if __name__ == "__main__":
    main()
