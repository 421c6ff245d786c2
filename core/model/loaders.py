"""Pure data loaders: a 1-D sine toy and real MNIST from IDX files (read, or downloaded); a user's CSV table is in
core.model.csv_table.

Every bad input raises ValueError with one sentence naming the file and the problem. Nothing is ever evaluated or
unpickled: IDX data goes through np.frombuffer, CSV text through the csv module and float()."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import io
import math
import os
import struct
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np


def sine(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A 1-D regression toy: x ~ U(-3, 3), shape (n, 1); y = sin(1.5 x) + 0.5 * noise * N(0, 1), shape (n,); both
    float64, drawn from rng (x first, then the noise), so the same seed gives the same set."""
    x = rng.uniform(-3.0, 3.0, (n, 1))
    return x, np.sin(1.5 * x[:, 0]) + 0.5 * noise * rng.standard_normal(n)


# ---- MNIST from IDX files -------------------------------------------------------------------------------------------

IDX_MAX_VALUES = 2**28  # the most values one IDX file may declare (MNIST's largest holds 47 million)
_IDX_MAX_BYTES = IDX_MAX_VALUES + 4 + 4 * 255  # those values and the longest possible header
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte")
"""MNIST's four IDX files: train images, train labels, test images, test labels; each may also be a .gz file."""
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")


def _parse_idx(data: bytes, name: str) -> np.ndarray:
    """An IDX file's bytes, gzipped (recognised by gzip's magic number) or not, as a uint8 array of its header's
    shape."""
    bad = f"{name} is not a valid IDX file: "
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                data = stream.read(_IDX_MAX_BYTES + 1)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(bad + f"its gzip compression is corrupt ({error}).") from None
        if len(data) > _IDX_MAX_BYTES:
            raise ValueError(bad + f"it decompresses to over {_IDX_MAX_BYTES:,} bytes.")
    if len(data) < 4:
        size = f"{len(data)} byte{'' if len(data) == 1 else 's'}"
        raise ValueError(bad + f"it is {size} long, shorter than the 4-byte header.")
    if data[:2] != b"\0\0":
        raise ValueError(bad + "it does not start with two zero bytes (bad magic number).")
    if data[2] != 0x08:
        raise ValueError(bad + f"its data type is 0x{data[2]:02x}, and only 0x08 (unsigned bytes) is supported.")
    n_dims, header = data[3], 4 + 4 * data[3]
    if n_dims == 0:
        raise ValueError(bad + "its header declares no dimensions.")
    if len(data) < header:
        raise ValueError(bad + f"it is {len(data)} bytes long, shorter than its {header}-byte header.")
    dims = struct.unpack(f">{n_dims}I", data[4:header])
    count, shape = math.prod(dims), "x".join(map(str, dims))
    if count > IDX_MAX_VALUES:
        raise ValueError(bad + f"its header declares {shape} = {count:,} values, over the cap of {IDX_MAX_VALUES:,}.")
    if len(data) - header != count:
        raise ValueError(bad + f"its header declares {shape} = {count:,} values, but it holds {len(data) - header:,}.")
    return np.frombuffer(data, np.uint8, count, header).reshape(dims).copy()


def file_size(path) -> int:
    if not os.path.isfile(path):  # False too for a path with a NUL byte, or one that cannot be read
        raise ValueError(f"{path} does not exist or is not a file.")
    return os.path.getsize(path)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """An IDX file (plain, or gzipped: recognised by its content) as a uint8 array of the shape its header declares.
    Only data type 0x08 (unsigned bytes) is read; a missing or malformed file raises ValueError."""
    if (size := file_size(path)) > _IDX_MAX_BYTES:
        raise ValueError(f"{path} is not a valid IDX file: it is {size:,} bytes long, over the cap of "
                         f"{_IDX_MAX_BYTES:,}.")
    with open(path, "rb") as stream:
        return _parse_idx(stream.read(), str(path))


def load_mnist(data_dir: str | os.PathLike, subset: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """MNIST from the four IDX files in data_dir: train then test images as float32 (N, H*W) scaled to [0, 1], and
    their labels 0..9 as int64 (N,). `subset` > 0 takes that many samples, drawn without replacement by rng (the same
    seed, the same samples); 0, or at least the total, takes them all in file order."""
    if subset < 0:
        raise ValueError(f"The MNIST subset must be 0 (all) or a positive count, got {subset}.")
    folder = Path(data_dir)
    how = (f"get them with `python -m core fetch-mnist --out {folder}` or copy the four IDX files "
           f"({', '.join(MNIST_FILES)}, each optionally .gz) there")
    if not folder.is_dir():
        raise ValueError(f"The MNIST folder {folder} does not exist; {how}.")
    found = {name: next((p for p in (folder / name, folder / f"{name}.gz") if p.is_file()), None)
             for name in MNIST_FILES}
    if missing := [name for name, path in found.items() if path is None]:
        raise ValueError(f"The MNIST folder {folder} lacks {', '.join(missing)}; {how}.")
    paths = list(found.values())
    arrays = [read_idx(path) for path in paths]
    for images, labels, image_path, label_path in ((*arrays[:2], *paths[:2]), (*arrays[2:], *paths[2:])):
        if images.ndim != 3:
            raise ValueError(f"{image_path} holds an array of shape {images.shape}, not images (N, H, W).")
        if labels.ndim != 1:
            raise ValueError(f"{label_path} holds an array of shape {labels.shape}, not labels (N,).")
        if len(images) != len(labels):
            raise ValueError(f"{image_path} holds {len(images):,} images but {label_path} {len(labels):,} labels.")
        if len(labels) and labels.max() > 9:
            raise ValueError(f"{label_path} holds the label {labels.max()}, and MNIST's labels are 0 to 9.")
    if arrays[0].shape[1:] != arrays[2].shape[1:]:
        raise ValueError(f"The train images are {arrays[0].shape[1:]} pixels, the test images {arrays[2].shape[1:]}.")
    images, labels = np.concatenate([arrays[0], arrays[2]]), np.concatenate([arrays[1], arrays[3]])
    if len(labels) == 0:
        raise ValueError(f"The MNIST files in {data_dir} hold no images.")
    if 0 < subset < len(labels):
        chosen = rng.choice(len(labels), size=subset, replace=False)
        images, labels = images[chosen], labels[chosen]
    return images.reshape(len(images), -1).astype(np.float32) / 255.0, labels.astype(np.int64)


def _download_from(base: str, folder: Path, timeout: float) -> list[str]:
    paths = []
    for name in MNIST_FILES:
        target, url = folder / f"{name}.gz", base.rstrip("/") + f"/{name}.gz"
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read(_IDX_MAX_BYTES + 1)
        if len(data) > _IDX_MAX_BYTES:
            raise ValueError(f"{url} sends over {_IDX_MAX_BYTES:,} bytes")
        _parse_idx(data, url)  # verified before anything is written
        write_atomically(data, target)
        paths.append(str(target))
    return paths


def download_mnist(data_dir: str | os.PathLike, urls=MNIST_MIRRORS, timeout: float = 10) -> list[str]:
    """Download MNIST's four gzipped IDX files into data_dir (made if missing) from the first mirror in `urls` that
    serves all four, each verified as IDX, then written atomically (a temporary file, then a rename); their paths."""
    folder = Path(data_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"Could not make the folder {folder}: {error.strerror or error}.") from None
    failures = []
    for base in urls:
        try:
            return _download_from(base, folder, timeout)
        except (OSError, ValueError, EOFError, http.client.HTTPException) as error:  # offline, timeouts, bad data...
            plain = isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError)
            failures.append(f"{base} ({str(error.reason if plain else error).rstrip('.') or type(error).__name__})")
    tried = " or ".join(failures) or "no mirror (none given)"
    raise ValueError(f"Could not download MNIST from {tried}; copy the four IDX files into {folder} instead.")


def write_atomically(data: bytes, target: Path) -> None:
    """Write data to target through a temporary file in its folder, flushed to disk (fsync), and a rename: target
    holds the new data or the old, never a half-written file, even if the process is killed or the machine stops."""
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    with contextlib.suppress(OSError):  # the rename itself reaches the disk too (not every file system allows it)
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
