"""A user's CSV table as features and labels: parsed with the csv module and float(), never evaluated, within
stated caps. Every bad file raises ValueError with one sentence naming the file, the problem and where it is."""

from __future__ import annotations

import array
import csv
import io
import os
from typing import NamedTuple

import numpy as np

from core.model.loaders import file_size

CSV_MAX_BYTES = 20 * 1024 * 1024
CSV_MAX_ROWS = 200_000
CSV_MAX_COLUMNS = 1_000
CSV_MIN_ROWS = 10
CSV_MAX_CLASSES = 50


class Table(NamedTuple):
    """A CSV's data: features x float64 (N, D) as the file holds them (make_dataset standardises them with the
    training split's statistics, `standardise`); y int64 class indices, or float64 regression targets; task
    "classification" or "regression"; class names in label order (empty for regression); feature names."""

    x: np.ndarray
    y: np.ndarray
    task: str
    classes: tuple[str, ...]
    features: tuple[str, ...]


def _csv_rows(source):
    """(name, rows): the size checked before anything is read, then the text; the rows as (row number, stripped cells),
    the number counting lines in the file (header: 1; a record over several lines: its first), blank lines skipped."""
    if isinstance(source, bytes | bytearray | memoryview):
        name, size = "The uploaded file", len(source)
    elif isinstance(source, str | os.PathLike):
        name, size = str(source), file_size(source)
    else:
        raise TypeError(f"a CSV source is a path or bytes, not {type(source).__name__}")
    if size > CSV_MAX_BYTES:
        raise ValueError(f"{name} is {size / 2**20:.1f} MiB, over the {CSV_MAX_BYTES // 2**20} MiB cap for CSV files.")
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as stream:
            source = stream.read(CSV_MAX_BYTES + 1)
    if b"\0" in (data := bytes(source)):
        raise ValueError(f"{name} is binary, not CSV text: it contains NUL bytes.")
    data = data.removeprefix(b"\xef\xbb\xbf")  # a byte-order mark
    try:
        reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    except UnicodeDecodeError as error:
        row = data.count(b"\n", 0, error.start) + 1
        raise ValueError(f"{name} is not UTF-8 text: row {row} holds the byte 0x{data[error.start]:02x}, which UTF-8 "
                         f"cannot decode there.") from None

    def rows():
        start = 1
        try:
            for cells in reader:
                if cells:
                    yield start, list(map(str.strip, cells))
                start = reader.line_num + 1
        except csv.Error as error:
            raise ValueError(f"{name} is not valid CSV: {error} (row {reader.line_num}).") from None

    return name, rows()


def _header(name: str, rows) -> list[str]:
    if (header := next(rows, (0, None))[1]) is None:
        raise ValueError(f"{name} is empty.")
    if len(header) > CSV_MAX_COLUMNS:
        raise ValueError(f"{name} has {len(header):,} columns, over the cap of {CSV_MAX_COLUMNS:,}.")
    for i, column in enumerate(header):
        if not column:
            raise ValueError(f"{name}: column {i + 1} of the header has no name.")
        if column in header[:i]:
            raise ValueError(f"{name} names the column {column!r} twice.")
    return header


def csv_columns(source) -> list[str]:
    """The column names in a CSV's header (its first non-blank line), from a path or bytes."""
    return _header(*_csv_rows(source))


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _bad_cell(name: str, row: int, column: str, cell: str) -> ValueError:
    """The error for a cell that is empty, not a number, or not a finite number."""
    if not cell:
        return ValueError(f"{name}: row {row}, column {column!r} is empty.")
    shown, finite = repr(cell if len(cell) <= 40 else cell[:37] + "..."), "" if _number(cell) is None else "finite "
    return ValueError(f"{name}: row {row}, column {column!r} holds {shown}, which is not a {finite}number.")


def load_csv(source, label_column: str) -> Table:
    """A CSV table (comma-separated, UTF-8, a header of unique names, then 10 to CSV_MAX_ROWS rows) from a path or the
    bytes of an upload. Every column but `label_column` is a feature and must hold finite numbers, returned as they
    are (make_dataset standardises them after the split, with the training rows' statistics: `standardise`). Labels
    that are integers or text with at most CSV_MAX_CLASSES distinct values are classes (sorted, numerically for
    numbers; y their int64 indices); labels with a fractional part (or more distinct integers) are a regression
    target, left as they are. Row numbers in messages count lines in the file, the header being row 1."""
    name, rows = _csv_rows(source)
    header, label_column = _header(name, rows), label_column.strip()
    if label_column not in header:
        listed = ", ".join(map(repr, header[:20])) + (f" and {len(header) - 20} more" if len(header) > 20 else "")
        raise ValueError(f"{name} has no column {label_column!r}; its columns are {listed}.")
    if len(header) == 1:
        raise ValueError(f"{name} has no feature column besides the label {label_column!r}.")
    li = header.index(label_column)
    features = header[:li] + header[li + 1:]
    flat, labels, lines = array.array("d"), [], []
    for line, cells in rows:
        if len(cells) != len(header):
            raise ValueError(f"{name}: row {line} has {len(cells)} cells, the header has {len(header)}.")
        if len(labels) == CSV_MAX_ROWS:
            raise ValueError(f"{name} has over {CSV_MAX_ROWS:,} data rows, the cap.")
        label = cells.pop(li)
        try:
            flat.extend(map(float, cells))
        except ValueError:
            bad = next(i for i, cell in enumerate(cells) if _number(cell) is None)
            raise _bad_cell(name, line, features[bad], cells[bad]) from None
        if not label:
            raise _bad_cell(name, line, label_column, label)
        labels.append(label)
        lines.append(line)
    if not labels:
        raise ValueError(f"{name} has a header but no data rows.")
    if len(labels) < CSV_MIN_ROWS:
        raise ValueError(f"{name} has {len(labels)} data rows; at least {CSV_MIN_ROWS} are needed.")
    x = np.frombuffer(flat, np.float64).reshape(len(labels), len(features))
    if not (finite := np.isfinite(x)).all():  # the first non-finite cell in file order, its text read again
        row, column = divmod(int(np.argmin(finite.ravel())), len(features))
        cells = next((cells for line, cells in _csv_rows(source)[1] if line == lines[row]), None)
        text = str(x[row, column]) if cells is None else (cells[:li] + cells[li + 1:])[column]  # None: file changed
        raise _bad_cell(name, lines[row], features[column], text)
    y, task, classes = _labels(name, labels, label_column, lines)
    return Table(x, y, task, classes, tuple(features))


def _labels(name: str, labels: list[str], column: str, lines: list[int]):
    """(y, task, classes) from the label column's cells."""
    values = [_number(label) for label in labels]
    if None not in values:
        if not (finite := np.isfinite(values := np.array(values))).all():
            at = int(np.argmin(finite))
            raise _bad_cell(name, lines[at], column, labels[at])
        distinct = np.unique(values)
        if not (distinct == np.round(distinct)).all() or len(distinct) > CSV_MAX_CLASSES:
            return values, "regression", ()
        names, y = tuple(str(int(v)) for v in distinct), np.searchsorted(distinct, values)
    else:
        if len(names := tuple(sorted(set(labels)))) > CSV_MAX_CLASSES:
            raise ValueError(f"{name}: the label column {column!r} has {len(names)} distinct values, over the "
                             f"{CSV_MAX_CLASSES} classes allowed.")
        index = {label: i for i, label in enumerate(names)}
        y = np.array([index[label] for label in labels])
    if len(names) < 2:
        raise ValueError(f"{name}: the label column {column!r} holds one class only, {names[0]!r}; at least two are "
                         f"needed.")
    return y.astype(np.int64), "classification", names


class Standardisation(NamedTuple):
    """Per feature column, in the file's units: the mean and the standard deviation (population, ddof 0) of the
    training rows; std 0 marks a column constant on them, which becomes 0 in every row."""

    mean: np.ndarray
    std: np.ndarray

    def as_dict(self, features) -> dict:
        """JSON-ready: {"features": [...], "mean": [...], "std": [...]}, one entry per feature column."""
        return {"features": list(features), "mean": self.mean.tolist(), "std": self.std.tolist()}


def standardise(x: np.ndarray, train) -> tuple[np.ndarray, Standardisation]:
    """(x with each column centred and scaled by the mean and std of the rows `train` only, float64; the statistics):
    the validation rows change nothing of the training features. A column constant on the training rows becomes 0 in
    every row. Each column is first divided by its largest |value| on the training rows (no overflow); a validation
    value far outside them that would still overflow is held at float32's largest finite number."""
    x = np.asarray(x, dtype=np.float64)
    fit = x[np.asarray(train, dtype=np.int64)]
    if not len(fit):
        raise ValueError("standardising needs at least one training row")
    scale = np.abs(fit).max(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    fit = fit / scale
    mean, std = fit.mean(axis=0), fit.std(axis=0)
    constant = (fit == fit[0]).all(axis=0) | (std == 0)
    std = np.where(constant, 0.0, std)
    with np.errstate(over="ignore"):
        out = np.where(constant, 0.0, (x / scale - mean) / np.where(constant, 1.0, std))
    big = float(np.finfo(np.float32).max)
    return np.clip(out, -big, big), Standardisation(mean * scale, std * scale)
