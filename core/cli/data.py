"""Command-line commands for the data sets that read files.

python -m core fetch-mnist [--out DIR] [--mirror URL ...] [--timeout S] [--force]
    Downloads MNIST's four gzipped IDX files (loaders.MNIST_FILES) into DIR (default: data.DEFAULT_MNIST_DIR, where
    `dataset=mnist` looks when data_dir is empty), each checked as IDX before it is written. Offline, or when no
    mirror serves all four, it exits with status 2 and one line. Files already there are kept unless --force.
"""

from __future__ import annotations

from pathlib import Path

from core.model import loaders
from core.model.data import DEFAULT_MNIST_DIR


def cmd_fetch_mnist(args) -> int:
    if not args.force and not _missing(args.out):
        print(f"{args.out} already holds MNIST's four files; --force downloads them again")
        return 0
    try:
        timeout = float(args.timeout)
    except ValueError:
        raise ValueError(f"--timeout takes a number of seconds, got {args.timeout!r}") from None
    if not 0 < timeout <= 600:
        raise ValueError(f"--timeout must be above 0 and at most 600 seconds, got {args.timeout}")
    paths = loaders.download_mnist(args.out, tuple(args.mirror or loaders.MNIST_MIRRORS), timeout)
    print(f"wrote {len(paths)} files to {args.out}; train on them with --set dataset=mnist"
          + ("" if args.out == DEFAULT_MNIST_DIR else f" --set data_dir={args.out}"))
    return 0


def _missing(folder: str) -> list[str]:
    """MNIST's files that the folder lacks, plain or gzipped."""
    return [name for name in loaders.MNIST_FILES
            if not any((Path(folder) / f"{name}{ext}").is_file() for ext in ("", ".gz"))]


def register(sub) -> None:
    p = sub.add_parser("fetch-mnist", help="download MNIST's four IDX files for dataset=mnist")
    p.add_argument("--out", default=DEFAULT_MNIST_DIR,
                   help=f"folder to put them in (default {DEFAULT_MNIST_DIR}, where dataset=mnist looks)")
    p.add_argument("--mirror", action="append", metavar="URL",
                   help="a base URL serving the four .gz files; repeat for several (default: "
                   + ", ".join(loaders.MNIST_MIRRORS) + ")")
    p.add_argument("--timeout", default="10", help="seconds to wait for each answer (default 10)")
    p.add_argument("--force", action="store_true", help="download again when the files are already there")
    p.set_defaults(func=cmd_fetch_mnist)
