"""core/model/loaders.py: the sine toy, MNIST from IDX files (read and downloaded, offline), a user's CSV."""

import gzip
import io
import os
import struct
import urllib.error
import urllib.request

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.model import csv_table
from core.model.csv_table import csv_columns, load_csv
from core.model.loaders import MNIST_FILES, download_mnist, load_mnist, read_idx, sine


def one_sentence(message: str) -> bool:
    return message.endswith(".") and ". " not in message


def idx(array) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    return b"\0\0\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_mnist(folder, gz=(False,) * 4, n_train=30, n_test=10, size=(28, 28)):
    """Tiny MNIST-shaped IDX files; gz says which of the four are gzipped. The arrays, in MNIST_FILES's order."""
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (n_train, *size)), np.arange(n_train) % 10,
              rng.integers(0, 256, (n_test, *size)), (np.arange(n_test) + 3) % 10]
    folder.mkdir(parents=True, exist_ok=True)
    for name, array, zipped in zip(MNIST_FILES, arrays, gz):
        data = idx(array)
        (folder / (name + ".gz" * zipped)).write_bytes(gzip.compress(data) if zipped else data)
    return arrays


# ---- sine -----------------------------------------------------------------------------------------------------------

def test_sine_shapes_formula_and_seed():
    x, y = sine(200, 0.3, np.random.default_rng(1))
    assert x.shape == (200, 1) and y.shape == (200,) and x.dtype == y.dtype == np.float64
    assert -3 <= x.min() and x.max() <= 3
    again = sine(200, 0.3, np.random.default_rng(1))
    assert np.array_equal(x, again[0]) and np.array_equal(y, again[1])
    assert not np.array_equal(x, sine(200, 0.3, np.random.default_rng(2))[0])
    x0, y0 = sine(50, 0.0, np.random.default_rng(1))
    assert np.allclose(y0, np.sin(1.5 * x0[:, 0]))
    residual = y - np.sin(1.5 * x[:, 0])
    assert 0.1 < residual.std() < 0.2  # 0.5 * noise


# ---- IDX and MNIST --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("zipped", [False, True])
def test_read_idx_round_trip(tmp_path, zipped):
    array = np.random.default_rng(0).integers(0, 256, (30, 28, 28)).astype(np.uint8)
    path = tmp_path / ("images.gz" if zipped else "images")
    path.write_bytes(gzip.compress(idx(array)) if zipped else idx(array))
    read = read_idx(path)
    assert read.dtype == np.uint8 and np.array_equal(read, array) and read.flags.writeable
    assert np.array_equal(read_idx(str(path)), array)
    for missing in (tmp_path / "nothing", tmp_path):
        with pytest.raises(ValueError, match=f"^{missing} does not exist or is not a file\\.$"):
            read_idx(missing)


GOOD = idx(np.zeros((2, 3)))


@pytest.mark.parametrize("data, problem", [
    (b"", "it is 0 bytes long, shorter than the 4-byte header"),
    (b"\0\0\x08", "it is 3 bytes long, shorter than the 4-byte header"),
    (b"\x01" + GOOD[1:], "it does not start with two zero bytes (bad magic number)"),
    (b"P5 28 28 255\n" + bytes(784), "bad magic number"),
    (b"\0\0\x0d" + GOOD[3:], "its data type is 0x0d, and only 0x08 (unsigned bytes) is supported"),
    (b"\0\0\x08\x00", "its header declares no dimensions"),
    (b"\0\0\x08\x03" + bytes(4), "it is 8 bytes long, shorter than its 16-byte header"),
    (GOOD[:-1], "its header declares 2x3 = 6 values, but it holds 5"),
    (GOOD + b"\0", "its header declares 2x3 = 6 values, but it holds 7"),
    (b"\0\0\x08\x02" + struct.pack(">2I", 2**32 - 1, 2**32 - 1), "values, over the cap of 268,435,456"),
    (b"\x1f\x8b" + bytes(20), "its gzip compression is corrupt"),
    (gzip.compress(GOOD, mtime=0)[:-6], "its gzip compression is corrupt"),
    (gzip.compress(GOOD[:-2], mtime=0), "but it holds 4"),
])
def test_read_idx_malformed(tmp_path, data, problem):
    path = tmp_path / "bad-idx"
    path.write_bytes(data)
    with pytest.raises(ValueError) as raised:
        read_idx(path)
    message = str(raised.value)
    assert message.startswith(f"{path} is not a valid IDX file: ") and problem in message and one_sentence(message)


@pytest.mark.parametrize("gz, size", [((False,) * 4, (28, 28)), ((True,) * 4, (28, 28)),
                                      ((True, False, False, True), (5, 7))])
def test_load_mnist(tmp_path, gz, size):
    arrays = write_mnist(tmp_path, gz, size=size)
    x, y = load_mnist(str(tmp_path), 0, np.random.default_rng(0))
    assert x.shape == (40, size[0] * size[1]) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.allclose(x, np.concatenate([arrays[0], arrays[2]]).reshape(40, -1) / 255.0)
    assert np.array_equal(y, np.concatenate([arrays[1], arrays[3]])) and 0 <= x.min() and x.max() <= 1


def test_load_mnist_subset_by_seed_and_size(tmp_path):
    arrays = write_mnist(tmp_path)
    x, y = load_mnist(tmp_path, 12, np.random.default_rng(5))
    assert x.shape == (12, 784) and y.shape == (12,)
    again = load_mnist(tmp_path, 12, np.random.default_rng(5))
    assert np.array_equal(x, again[0]) and np.array_equal(y, again[1])
    assert not np.array_equal(x, load_mnist(tmp_path, 12, np.random.default_rng(6))[0])
    all_x = np.concatenate([arrays[0], arrays[2]]).reshape(40, -1) / 255.0
    all_y = np.concatenate([arrays[1], arrays[3]])
    rows = [int(np.flatnonzero(np.isclose(all_x, row).all(axis=1))[0]) for row in x]
    assert len(set(rows)) == 12 and np.array_equal(all_y[rows], y)  # real samples, no repeats, labels kept
    for subset in (0, 40, 1000):
        assert load_mnist(tmp_path, subset, np.random.default_rng(5))[0].shape == (40, 784)
    with pytest.raises(ValueError, match="positive count, got -1"):
        load_mnist(tmp_path, -1, np.random.default_rng(5))


def test_load_mnist_missing(tmp_path):
    folder = tmp_path / "mnist"
    with pytest.raises(ValueError) as raised:
        load_mnist(folder, 0, np.random.default_rng(0))
    message = str(raised.value)
    assert f"The MNIST folder {folder} does not exist" in message and f"fetch-mnist --out {folder}" in message
    write_mnist(folder)
    (folder / MNIST_FILES[1]).unlink()
    (folder / MNIST_FILES[2]).unlink()
    with pytest.raises(ValueError) as raised:
        load_mnist(folder, 0, np.random.default_rng(0))
    message = str(raised.value)
    assert f"lacks {MNIST_FILES[1]}, {MNIST_FILES[2]};" in message and "copy the four IDX files" in message
    assert f"fetch-mnist --out {folder}" in message and one_sentence(message)


@pytest.mark.parametrize("change, problem", [
    (lambda a: a.__setitem__(1, np.arange(29) % 10), "holds 30 images but"),
    (lambda a: a.__setitem__(3, np.full(10, 12)), "holds the label 12, and MNIST's labels are 0 to 9"),
    (lambda a: a.__setitem__(2, np.zeros((10, 28, 27))), "the test images (28, 27)"),
    (lambda a: a.__setitem__(0, np.zeros((30, 784))), "not images (N, H, W)"),
    (lambda a: a.__setitem__(1, np.zeros((30, 1))), "not labels (N,)"),
])
def test_load_mnist_inconsistent(tmp_path, change, problem):
    arrays = write_mnist(tmp_path)
    change(arrays)
    for name, array in zip(MNIST_FILES, arrays):
        (tmp_path / name).write_bytes(idx(array))
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        load_mnist(tmp_path, 0, np.random.default_rng(0))


@pytest.fixture
def mirror(tmp_path):
    """A folder with MNIST's four .gz files, as a mirror serves them."""
    write_mnist(tmp_path / "mirror", (True,) * 4)
    return tmp_path / "mirror"


def test_download_offline(tmp_path, monkeypatch):
    def offline(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    folder = tmp_path / "mnist"
    with pytest.raises(ValueError) as raised:
        download_mnist(folder)
    reason = "([Errno -3] Temporary failure in name resolution)"
    assert str(raised.value) == (f"Could not download MNIST from https://ossci-datasets.s3.amazonaws.com/mnist/ "
                                 f"{reason} or https://storage.googleapis.com/cvdf-datasets/mnist/ {reason}; copy "
                                 f"the four IDX files into {folder} instead.")
    assert list(folder.iterdir()) == []
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ValueError, match=r"^Could not make the folder .*a-file: File exists\.$"):
        download_mnist(tmp_path / "a-file")


def test_download_http_error_and_bad_data(tmp_path, monkeypatch):
    def serve(url, timeout=None):
        if "first" in url:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        return io.BytesIO(b"<html>not here</html>")

    monkeypatch.setattr(urllib.request, "urlopen", serve)
    with pytest.raises(ValueError) as raised:
        download_mnist(tmp_path, urls=("https://first/", "https://second/"))
    message = str(raised.value)
    assert "https://first/ (HTTP Error 404: Not Found) or https://second/ (" in message
    assert "train-images-idx3-ubyte.gz is not a valid IDX file: it does not start with two zero bytes" in message
    assert list(tmp_path.iterdir()) == []  # nothing unverified is written


def test_download_served_bytes(tmp_path, monkeypatch, mirror):
    calls = []

    def serve(url, timeout=None):
        calls.append((url, timeout))
        return io.BytesIO((mirror / url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(urllib.request, "urlopen", serve)
    folder = tmp_path / "new" / "mnist"
    paths = download_mnist(folder, urls=("https://example.org/mnist",), timeout=3)
    assert paths == [str(folder / f"{name}.gz") for name in MNIST_FILES]
    assert calls == [(f"https://example.org/mnist/{name}.gz", 3) for name in MNIST_FILES]
    assert sorted(os.listdir(folder)) == sorted(f"{name}.gz" for name in MNIST_FILES)  # no temporary files left
    assert load_mnist(folder, 0, np.random.default_rng(0))[0].shape == (40, 784)


def test_download_file_urls_falls_back_to_next_mirror(tmp_path, mirror):
    folder = tmp_path / "mnist"
    paths = download_mnist(folder, urls=((tmp_path / "nowhere").as_uri() + "/", mirror.as_uri() + "/"))
    assert [read_idx(path).shape for path in paths] == [(30, 28, 28), (30,), (10, 28, 28), (10,)]


# ---- CSV ------------------------------------------------------------------------------------------------------------

def table(rows, header="x1,x2,y"):
    return (header + "\n" + "\n".join(rows) + "\n").encode()


def good_rows(labels):
    return [f"{i},{(i * 7) % 5 - 2.5},{label}" for i, label in enumerate(labels)]


def test_csv_classification_with_text_labels(tmp_path):
    data = table(good_rows(["setosa", "virginica", "versicolor"] * 4))
    result = load_csv(data, "y")
    assert result.task == "classification" and result.classes == ("setosa", "versicolor", "virginica")
    assert result.y.dtype == np.int64 and list(result.y[:3]) == [0, 2, 1]
    assert result.features == ("x1", "x2") and result.x.shape == (12, 2) and result.x.dtype == np.float64
    assert np.array_equal(result.x[:, 0], np.arange(12))  # as the file holds them: make_dataset standardises
    path = tmp_path / "iris.csv"
    path.write_bytes(data)
    from_path = load_csv(path, "y")
    assert all(np.array_equal(a, b) for a, b in zip(result[:2], from_path[:2])) and result[2:] == from_path[2:]
    assert load_csv(str(path), " y ").classes == result.classes
    assert csv_columns(path) == csv_columns(data) == ["x1", "x2", "y"]


def test_csv_integer_labels_sort_as_numbers_and_label_anywhere():
    labels = ["10", "2", "2.0", "-1"] * 3
    rows = [f"{label}, {i} ,{i % 2}" for i, label in enumerate(labels)]
    result = load_csv(("\ufeff" + "\r\n".join(["y,a,b", *rows]) + "\r\n").encode(), "y")
    assert result.classes == ("-1", "2", "10") and list(result.y[:4]) == [2, 1, 1, 0]
    assert result.features == ("a", "b") and result.task == "classification"


def test_csv_regression_and_constant_column():
    values = [0.5 * i + 0.25 for i in range(15)]
    result = load_csv(table([f"{i},3,{v}" for i, v in enumerate(values)], "a,const,target"), "target")
    assert result.task == "regression" and result.classes == () and result.y.dtype == np.float64
    assert np.array_equal(result.y, values) and np.array_equal(result.x[:, 1], np.full(15, 3.0))
    assert np.array_equal(csv_table.standardise(result.x, range(15))[0][:, 1], np.zeros(15))  # constant: all 0
    raw = load_csv(table([f"{(-1) ** i * 1e308},{i * 1e-320},{i % 2}" for i in range(12)]), "y").x
    huge = csv_table.standardise(raw, range(12))[0]  # no overflow
    assert np.allclose(huge[:, 0], [1, -1] * 6) and np.allclose(huge.mean(axis=0), 0)
    assert np.allclose(huge.std(axis=0), 1)
    counts = load_csv(table([f"{i},{i % 3}" for i in range(60)], "a,count"), "count")
    assert counts.task == "classification" and counts.classes == ("0", "1", "2")
    many = load_csv(table([f"{i % 3},{i}" for i in range(60)], "a,count"), "count")  # 60 distinct integers
    assert many.task == "regression" and np.array_equal(many.y, np.arange(60))


def test_csv_row_numbers_count_lines():
    rows = good_rows("ab" * 6)
    rows[3] = '\n1,1,"multi\nline"'  # a blank line (line 5), then a record over two lines (lines 6 and 7)
    rows[4] = "4,x,b"  # line 8
    with pytest.raises(ValueError, match=r"row 8, column 'x2' holds 'x', which is not a number"):
        load_csv(table(rows), "y")


BAD_CSV = [
    (b"", "is empty"),
    (b"\n\r\n\n", "is empty"),
    (b"x1,x2,y\n", "has a header but no data rows"),
    (table(good_rows("ab" * 2 + "a")), "has 5 data rows; at least 10 are needed"),
    (b"x1,y\n1,\x00\n", "is binary, not CSV text: it contains NUL bytes"),
    (b"x1,y\n1,a\n\xff\xfe,1\n", "is not UTF-8 text: row 3 holds the byte 0xff, which UTF-8 cannot decode there"),
    (b"\xef\xbb\xbfx1,y\n1,\xc3(\n", "is not UTF-8 text: row 2 holds the byte 0xc3"),
    (table(good_rows("ab" * 2) + ["1,2"] + good_rows("ab" * 4)), "row 6 has 2 cells, the header has 3"),
    (table(good_rows("ab" * 6)[:5] + ["1,2,a,4"] + good_rows("ab" * 3)), "row 7 has 4 cells, the header has 3"),
    (table(good_rows("ab" * 6), "x1,x2,label"), "has no column 'y'; its columns are 'x1', 'x2', 'label'"),
    (table(["a"] * 12, "y"), "has no feature column besides the label 'y'"),
    (table(good_rows("ab" * 5) + ["1,abc,a"]), "row 12, column 'x2' holds 'abc', which is not a number"),
    (table(good_rows("ab" * 2) + [",1,a"] + good_rows("ab" * 4)), "row 6, column 'x1' is empty"),
    (table(good_rows("ab" * 2) + ["1,  ,a"] + good_rows("ab" * 4)), "row 6, column 'x2' is empty"),
    (table(good_rows("ab" * 2) + ["1,nan,a"] + good_rows("ab" * 4)), "row 6, column 'x2' holds 'nan', which is not a"),
    (table(good_rows("ab" * 6) + ["-Infinity,1,a"]), "row 14, column 'x1' holds '-Infinity', which is not a finite"),
    (table(good_rows("ab" * 6) + ["1e999,1,a"]), "row 14, column 'x1' holds '1e999', which is not a finite number"),
    (table(good_rows("ab" * 6) + ["1,1,"]), "row 14, column 'y' is empty"),
    (table(good_rows("1234" * 3) + ["1,1,inf"]), "row 14, column 'y' holds 'inf', which is not a finite number"),
    (table(good_rows("a" * 12)), "the label column 'y' holds one class only, 'a'; at least two are needed"),
    (table(good_rows("2" * 12)), "holds one class only, '2'"),
    (table(good_rows([f"c{i}" for i in range(60)])), "the label column 'y' has 60 distinct values, over the 50"),
    (table(good_rows("ab" * 6), "x1,x1,y"), "names the column 'x1' twice"),
    (table(good_rows("ab" * 6), "x1, ,y"), "column 2 of the header has no name"),
    (",".join(f"c{i}" for i in range(1001)).encode(), "has 1,001 columns, over the cap of 1,000"),
    (b'x1,y\n"' + b"1" * 200_000 + b'",a\n', "is not valid CSV: field larger than field limit"),
]


@pytest.mark.parametrize("data, problem", BAD_CSV)
def test_csv_bad_files(tmp_path, data, problem):
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    for source, name in ((data, "The uploaded file"), (path, str(path))):
        with pytest.raises(ValueError) as raised:
            load_csv(source, "y")
        message = str(raised.value)
        assert message.startswith(name) and problem in message and one_sentence(message), message


def test_csv_caps(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    with open(path, "wb") as stream:
        stream.truncate(21 * 2**20)  # sparse: all NULs, so reading it would say "binary"
    for source in (path, b"a" * (21 * 2**20)):
        for read in (lambda s: load_csv(s, "y"), csv_columns):
            with pytest.raises(ValueError, match=r"is 21\.0 MiB, over the 20 MiB cap for CSV files\.$"):
                read(source)
    monkeypatch.setattr(csv_table, "CSV_MAX_ROWS", 20)
    assert load_csv(table(good_rows("ab" * 10)), "y").x.shape == (20, 2)
    with pytest.raises(ValueError, match=r"has over 20 data rows, the cap\.$"):
        load_csv(table(good_rows("ab" * 11)), "y")


def test_csv_missing_path(tmp_path):
    for source in (tmp_path / "none.csv", str(tmp_path), "a\0b"):
        for read in (lambda s: load_csv(s, "y"), csv_columns):
            with pytest.raises(ValueError, match="does not exist or is not a file"):
                read(source)


# ---- whatever the input: a result or a ValueError -------------------------------------------------------------------

def loads_or_value_error(data: bytes) -> None:
    try:
        result = load_csv(data, "y")
    except ValueError as error:
        assert one_sentence(str(error)) or "is not valid CSV" in str(error), str(error)
    else:
        assert np.isfinite(result.x).all() and len(result.x) == len(result.y) >= 10
        assert result.x.shape[1] == len(result.features) >= 1
    try:
        csv_columns(data)
    except ValueError:
        pass


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_any_bytes_load_or_raise_value_error(data):
    loads_or_value_error(data)


CELLS = st.sampled_from(["", "0", "1", "-2.5", "3e2", " 4 ", "nan", "inf", "1e999", "a", "b", "é", '"', '"q,"', "y"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["y", "x", "z", "", "x"]), min_size=1, max_size=4),
       st.lists(st.lists(CELLS, min_size=1, max_size=4), min_size=0, max_size=14),
       st.sampled_from(["\n", "\r\n", "\n\n"]))
def test_any_text_grid_loads_or_raises_value_error(header, rows, newline):
    loads_or_value_error(newline.join(",".join(row) for row in [header, *rows]).encode())
