"""The command line on the data sets that read files: fetch-mnist (offline: one line, status 2), train on a CSV (a bad
file is refused with the loader's one line before any training), MNIST from a folder, and the CNN."""

from __future__ import annotations

import gzip
import json
import struct
import urllib.error
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cli.main import main
from core.model import csv_table, loaders
from core.model.loaders import MNIST_FILES
from core.train.run import Run


def table(n: int = 60, labels=("no", "yes"), features: int = 3) -> str:
    """A good CSV: `features` numeric columns, then a `label` column cycling through `labels`."""
    rng = np.random.default_rng(0)
    head = ",".join(f"f{i}" for i in range(features)) + ",label\n"
    return head + "".join(",".join(f"{v:.3f}" for v in rng.normal(size=features)) + f",{labels[i % len(labels)]}\n"
                          for i in range(n))


GOOD = table()
BAD = {  # a bad file's bytes, and what the one line must say (after the file's path)
    "binary": (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)), "is binary, not CSV text: it contains NUL bytes."),
    "ragged": (GOOD.replace("\n", "\n1,2\n", 1).encode(), ": row 2 has 2 cells, the header has 4."),
    "non-numeric": (GOOD.replace("\n", "\nabc,1,2,no\n", 1).encode(), ": row 2, column 'f0' holds 'abc', which is not "
                    "a number."),
    "one-class": (table(labels=("yes",)).encode(), ": the label column 'label' holds one class only, 'yes'; at least "
                  "two are needed."),
    "nan": (GOOD.replace("\n", "\n1,NaN,2,no\n", 1).encode(), ": row 2, column 'f1' holds 'NaN', which is not a finite "
            "number."),
    "infinite-label": (table(labels=("1.5", "inf")).encode(), ": row 3, column 'label' holds 'inf', which is not a "
                       "finite number."),
    "not-utf8": (b"a,b,label\n1,\xff,no\n", "is not UTF-8 text"),
    "too-few-rows": (table(n=5).encode(), "has 5 data rows; at least 10 are needed."),
}


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if a run starts training."""
    def refuse(self, *args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(Run, "train", refuse)


def _one_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    return err[0][len("error: "):]


def _train(*settings: str, out: Path) -> int:
    return main(["train", *[a for s in settings for a in ("--set", s)], "--out", str(out)])


# ---- CSV ------------------------------------------------------------------------------------------------------------
def test_train_on_a_csv_by_label_name(tmp_path, capsys):
    path = tmp_path / "t.csv"
    path.write_text(GOOD.replace("f1,", "kind,").replace("label", "class"), encoding="utf-8")
    out = tmp_path / "run"
    assert _train("dataset=csv", f"csv_path={path}", "label_column=class", "steps=30", "log_every=10", out=out) == 0
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert (config["dataset"], config["csv_path"], config["label_column"]) == ("csv", str(path), "class")
    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics.step.iloc[-1] == 30 and metrics.val_error.between(0, 1).all()
    assert "step 30" in capsys.readouterr().out


def test_a_number_as_the_label_name_and_a_regression(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(table(labels=(0, 1)).replace("f2", "3"), encoding="utf-8")  # label_column=3 parses as JSON 3
    out = tmp_path / "run"
    assert _train("dataset=csv", f"csv_path={path}", "label_column=3", "steps=10", out=out) == 0
    assert json.loads((out / "config.json").read_text(encoding="utf-8"))["label_column"] == "3"
    assert (out / "metrics.csv").is_file()


@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_csv_exits_2_with_the_loaders_line_before_training(kind, tmp_path, capsys, no_training):
    data, says = BAD[kind]
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(data)
    out = tmp_path / "run"
    assert _train("dataset=csv", f"csv_path={path}", out=out) == 2
    line = _one_error(capsys)
    assert line.startswith(str(path)) and says in line
    assert not out.exists()  # refused before anything was written (its empty folder taken away again)


def test_a_too_large_csv_exits_2_before_reading_it(tmp_path, capsys, monkeypatch, no_training):
    monkeypatch.setattr(csv_table, "CSV_MAX_BYTES", 2**20)
    path = tmp_path / "big.csv"
    path.write_text(table(n=60_000), encoding="utf-8")
    assert path.stat().st_size > 2**20
    assert _train("dataset=csv", f"csv_path={path}", out=tmp_path / "run") == 2
    assert _one_error(capsys) == f"{path} is {path.stat().st_size / 2**20:.1f} MiB, over the 1 MiB cap for CSV files."


@pytest.mark.parametrize(("settings", "says"), [
    (("dataset=csv",), "csv_path must be the CSV file to read when dataset is csv, got ''"),
    (("dataset=csv", "csv_path=/nonexistent/x.csv"), "/nonexistent/x.csv does not exist or is not a file."),
    (("dataset=csv", "csv_path={good}", "label_column=nope"), "{good} has no column 'nope'; its columns are 'f0', "
     "'f1', 'f2', 'label'."),
])
def test_a_missing_csv_or_label_column_exits_2(settings, says, tmp_path, capsys, no_training):
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    assert _train(*[s.format(good=good) for s in settings], out=tmp_path / "run") == 2
    assert _one_error(capsys) == says.format(good=good)


# ---- MNIST ----------------------------------------------------------------------------------------------------------
def idx(array) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    return b"\0\0\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def mnist_files(n_train: int = 40, n_test: int = 10) -> dict[str, bytes]:
    """Tiny MNIST-shaped IDX files, by name."""
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (n_train, 28, 28)), np.arange(n_train) % 10, rng.integers(0, 256, (n_test, 28, 28)),
              np.arange(n_test) % 10]
    return {name: idx(array) for name, array in zip(MNIST_FILES, arrays)}


@pytest.mark.parametrize("made", [True, False])
def test_mnist_from_a_folder_without_its_files_exits_2_naming_them(made, tmp_path, capsys, no_training):
    folder = tmp_path / "mnist"
    if made:
        folder.mkdir()
        (folder / MNIST_FILES[1]).write_bytes(mnist_files()[MNIST_FILES[1]])
    assert _train("dataset=mnist", f"data_dir={folder}", out=tmp_path / "run") == 2
    line = _one_error(capsys)
    missing = [n for n in MNIST_FILES if n != MNIST_FILES[1] or not made]
    assert line.startswith(f"The MNIST folder {folder} " + (f"lacks {', '.join(missing)};" if made else
                                                           "does not exist;"))
    assert f"python -m core fetch-mnist --out {folder}" in line


@pytest.fixture
def mirror(monkeypatch):
    """urllib answers from a fake mirror (its files, gzipped, by URL); None = offline. The URLs asked, in order."""
    served: dict[str, bytes] | None = {}
    asked = []

    class Response:
        def __init__(self, data):
            self.data = data

        def read(self, n=-1):
            return self.data if n < 0 else self.data[:n]

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def urlopen(url, timeout=None):
        asked.append(url)
        if served is None or url not in served:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        return Response(served[url])

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    return served, asked


def test_fetch_mnist_offline_exits_2_with_one_line(tmp_path, capsys, mirror):
    out = tmp_path / "mnist"
    assert main(["fetch-mnist", "--out", str(out), "--mirror", "https://a.example/mnist/", "--mirror",
                 "https://b.example/m"]) == 2
    line = _one_error(capsys)
    assert line == ("Could not download MNIST from https://a.example/mnist/ ([Errno -3] Temporary failure in name "
                    "resolution) or https://b.example/m ([Errno -3] Temporary failure in name resolution); copy the "
                    f"four IDX files into {out} instead.")
    assert not out.exists()  # the folder it made for them is gone again
    assert mirror[1] == ["https://a.example/mnist/train-images-idx3-ubyte.gz", "https://b.example/m/train-images-idx3-"
                         "ubyte.gz"]


def test_fetch_mnist_with_a_monkeypatched_download(tmp_path, capsys, monkeypatch):
    def offline(data_dir, urls=loaders.MNIST_MIRRORS, timeout=10):
        raise ValueError(f"Could not download MNIST from {urls[0]} (offline); copy the four IDX files into "
                         f"{data_dir} instead.")

    monkeypatch.setattr(loaders, "download_mnist", offline)
    assert main(["fetch-mnist", "--out", str(tmp_path / "m")]) == 2
    assert _one_error(capsys).startswith(f"Could not download MNIST from {loaders.MNIST_MIRRORS[0]} (offline)")
    assert main(["fetch-mnist", "--out", str(tmp_path / "m"), "--timeout", "0"]) == 2
    assert _one_error(capsys) == "--timeout must be above 0 and at most 600 seconds, got 0"


def test_fetch_mnist_then_train_on_it(tmp_path, capsys, mirror, monkeypatch):
    served, asked = mirror
    base = "https://a.example/mnist/"
    served.update({f"{base}{name}.gz": gzip.compress(data) for name, data in mnist_files().items()})
    out = tmp_path / "mnist"
    assert main(["fetch-mnist", "--out", str(out), "--mirror", base]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.gz" for n in MNIST_FILES)
    assert f"--set data_dir={out}" in capsys.readouterr().out
    assert main(["fetch-mnist", "--out", str(out), "--mirror", base]) == 0  # already there: nothing asked again
    assert len(asked) == 4 and "already holds" in capsys.readouterr().out
    run = tmp_path / "run"
    assert _train("dataset=mnist", f"data_dir={out}", "subset=0", "steps=5", "hidden=[16]", out=run) == 0
    assert pd.read_csv(run / "metrics.csv").step.iloc[-1] == 5


# ---- the CNN --------------------------------------------------------------------------------------------------------
def test_a_cnn_on_digits_trains(tmp_path):
    out = tmp_path / "run"
    assert _train("model=cnn", "dataset=digits", "channels=[4,8]", "steps=20", "log_every=10", out=out) == 0
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    assert (config["model"], config["channels"]) == ("cnn", [4, 8])
    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics.step.iloc[-1] == 20 and np.isfinite(metrics.train_loss).all()


def test_a_cnn_on_points_in_the_plane_exits_2(tmp_path, capsys, no_training):
    assert _train("model=cnn", "dataset=moons", out=tmp_path / "run") == 2
    assert _one_error(capsys).startswith("model must be mlp for dataset moons (a cnn needs images or signals")
