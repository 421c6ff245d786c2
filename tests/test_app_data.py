"""The sidebar's data sets and models: MNIST's folder, a CSV upload (checked before it is used, saved under a name the
server chooses), the CNN, and links that must not make the server open files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.model import csv_table, loaders
from core.model.loaders import MNIST_FILES
from ui import data_inputs
from ui.data_inputs import accept_csv

pytestmark = pytest.mark.usefixtures("app_test_pages")
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def table(n: int = 40, labels=("no", "yes"), features: int = 3) -> bytes:
    """A good CSV: `features` numeric columns, then a `label` column cycling through `labels`."""
    rng = np.random.default_rng(0)
    head = ",".join(f"f{i}" for i in range(features)) + ",label\n"
    rows = [",".join(f"{v:.3f}" for v in rng.normal(size=features)) + f",{labels[i % len(labels)]}" for i in range(n)]
    return (head + "\n".join(rows) + "\n").encode()


GOOD = table(labels=(0, 1))  # numeric labels: any other column can be the label too
BAD = {  # a bad file: its bytes, and what the one error must say
    "binary": (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)), "binary, not CSV text"),
    "not-utf8": (b"a,b,label\n1,\xff,no\n", "is not UTF-8 text"),
    "ragged": (GOOD.replace(b"\n", b"\n1,2\n", 3).replace(b"\n1,2\n", b"\n", 2), "has 2 cells, the header has 4"),
    "non-numeric": (GOOD.replace(b"\n", b"\nabc,1,2,no\n", 1), "holds 'abc', which is not a number"),
    "one-class": (table(labels=("yes",)), "holds one class only, 'yes'"),
    "text-feature": (table(labels=("a", "b")).replace(b"label", b"f3,label", 1).replace(b",a\n", b",x,a\n")
                     .replace(b",b\n", b",y,b\n"), "column 'f3' holds 'x', which is not a number"),
    "nan": (GOOD.replace(b"\n", b"\nnan,1,2,no\n", 1), "holds 'nan', which is not a finite number"),
    "header-only": (b"a,b,label\n", "has a header but no data rows"),
    "empty": (b"", "is empty"),
}


def _app(page: str = "pages/train.py", query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.switch_page(page).run()


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


def _link_warning(at: AppTest) -> str:
    (warning,) = [w.value for w in at.warning if "could not use" in w.value]
    return warning


def idx(array) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    return b"\0\0\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_mnist(folder: Path, n_train: int = 30, n_test: int = 10) -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (n_train, 28, 28)), np.arange(n_train) % 10, rng.integers(0, 256, (n_test, 28, 28)),
              np.arange(n_test) % 10]
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in zip(MNIST_FILES, arrays):
        (folder / name).write_bytes(idx(array))


# ---- accept_csv: the upload's check, without a page -----------------------------------------------------------------
@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_upload_is_refused_with_the_loaders_sentence_and_nothing_is_saved(kind, tmp_path):
    data, says = BAD[kind]
    changes, message = accept_csv("x.csv", data, None, tmp_path)
    assert changes is None and says in message
    assert "\n" not in message and message.startswith("The uploaded file")
    assert not list(tmp_path.iterdir())


def test_a_too_large_upload_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_table, "CSV_MAX_BYTES", 2**20)
    data = table(n=50_000)
    assert len(data) > 2**20
    changes, message = accept_csv("big.csv", data, None, tmp_path)
    assert changes is None and "over the 1 MiB cap for CSV files" in message
    assert not list(tmp_path.iterdir())


def test_a_good_upload_is_saved_under_its_hash_whatever_its_name(tmp_path):
    changes, summary = accept_csv("../../etc/passwd.csv", GOOD, None, tmp_path)
    assert summary == "40 rows, 3 features, classification with 2 classes"
    path = Path(changes["csv_path"])
    assert path.parent == tmp_path and len(path.stem) == 32 and path.suffix == ".csv"
    assert path.read_bytes() == GOOD and changes == {"dataset": "csv", "csv_path": str(path), "label_column": "label"}
    again, _ = accept_csv("other name.csv", GOOD, "f1", tmp_path)  # the same bytes: the same file
    assert again["csv_path"] == str(path) and again["label_column"] == "f1"
    assert len(list(tmp_path.iterdir())) == 1
    regression, summary = accept_csv("r.csv", GOOD, "f0", tmp_path)
    assert summary == "40 rows, 3 features, regression" and regression["label_column"] == "f0"


# ---- the Train page with an upload ----------------------------------------------------------------------------------
def test_upload_train_then_a_bad_file_keeps_the_run_and_the_csv():
    at = _app()
    at.selectbox(key="dataset").set_value("csv").run()
    assert any("Upload a CSV file" in i.value for i in at.sidebar.info)
    assert at.button(key="train_start").disabled and at.session_state["config"] is None and not _errors(at)
    uploader = at.file_uploader(key="csv_upload")
    assert uploader.allowed_type == [".csv"] and uploader.proto.max_upload_size_mb == 20
    uploader.set_value(("two classes.csv", GOOD, "text/csv")).run()
    assert not _errors(at)
    config = at.session_state["config"]
    path = Path(config.csv_path)
    assert config.dataset == "csv" and config.label_column == "label" and path.read_bytes() == GOOD
    assert path.parent == Path(at.session_state[data_inputs.FOLDER]) and len(path.stem) == 32
    assert "two classes.csv: 40 rows, 3 features, classification with 2 classes." in [c.value for c in at.caption]
    assert at.selectbox(key="label_column").options == ["f0", "f1", "f2", "label"]
    assert "csv_path" not in at.query_params
    at.number_input(key="steps").set_value(50).run()
    at.button(key="train_step").click().run()
    assert not _errors(at)
    live = at.session_state["live_run"]
    assert live.touch().step == 1 and live.config.csv_path == str(path)

    at.file_uploader(key="csv_upload").set_value(("ragged.csv", BAD["ragged"][0], "text/csv")).run()
    (error,) = _errors(at)
    assert error.startswith("**ragged.csv** was not used. The uploaded file: row 4 has 2 cells")
    assert at.session_state["live_run"] is live and live.touch().step == 1
    assert at.session_state["config"] == config.replace(steps=50)  # the CSV it had, the same settings
    assert "Step 1 of 50" in at.get("progress")[0].proto.text
    at.run()  # the error stays while the bad file is in the uploader
    assert len(_errors(at)) == 1

    at.selectbox(key="label_column").set_value("f2").run()  # a label column that makes a regression: taken
    assert at.session_state["config"].label_column == "f2"
    assert "two classes.csv: 40 rows, 3 features, regression." in [c.value for c in at.caption]


def test_a_label_column_that_makes_no_data_set_is_put_back():
    at = _app()
    at.selectbox(key="dataset").set_value("csv").run()
    lines = table(labels=(0, 1), features=1).decode().splitlines()
    data = "\n".join(["f0,k,label"] + [row.replace(",", ",7,") for row in lines[1:]]).encode()  # k: always 7
    at.file_uploader(key="csv_upload").set_value(("k.csv", data, "text/csv")).run()
    assert at.session_state["config"].label_column == "label" and not _errors(at)
    at.selectbox(key="label_column").set_value("k").run()
    (error,) = _errors(at)
    assert error.startswith("The label column **k** was not used.") and "holds one class only, '7'" in error
    assert "playground-upload" not in error  # the server's folders stay its own
    assert at.session_state["config"].label_column == "label" and at.selectbox(key="label_column").value == "label"
    at.run()
    assert not _errors(at)  # said once


# ---- MNIST ----------------------------------------------------------------------------------------------------------
def test_mnist_without_its_files_says_where_to_put_them_and_cannot_train(tmp_path):
    at = _app()
    at.selectbox(key="dataset").set_value("mnist").run()
    at.text_input(key="data_dir").set_value(str(tmp_path)).run()
    (info,) = [i.value for i in at.sidebar.info if "MNIST needs" in i.value]
    assert f"python -m core fetch-mnist --out {tmp_path}" in info and MNIST_FILES[0] in info
    assert at.button(key="train_start").disabled and at.button(key="train_step").disabled
    assert at.session_state["config"] is None and not _errors(at)
    assert "data_dir" not in at.query_params

    write_mnist(tmp_path)
    at.number_input(key="subset").set_value(0).run()
    assert not [i for i in at.sidebar.info if "MNIST needs" in i.value] and not _errors(at)
    config = at.session_state["config"]
    assert (config.dataset, config.data_dir, config.subset) == ("mnist", str(tmp_path), 0)
    assert not at.button(key="train_start").disabled


# ---- links ----------------------------------------------------------------------------------------------------------
@pytest.fixture
def no_file_reads(monkeypatch):
    """Record every call into the loaders that open a user's file or folder."""
    calls = []
    for module, name in ((csv_table, "load_csv"), (csv_table, "csv_columns"), (loaders, "load_mnist"),
                         (loaders, "read_idx")):
        def spy(*args, _real=getattr(module, name), _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    return calls


def test_a_link_naming_a_file_reads_nothing_and_says_so(no_file_reads):
    at = _app(query={"csv_path": "/etc/passwd", "dataset": "csv", "label_column": "root"})
    assert not no_file_reads and not [e for e in _errors(at)]
    config = at.session_state["config"]
    assert config.dataset == "moons" and config.csv_path == "" and config.label_column == ""
    warning = _link_warning(at)
    assert "`csv_path` was ignored: the app never opens a file that a link names" in warning
    assert "/etc/passwd" not in warning
    assert "`dataset=csv` was ignored: a link cannot carry the CSV file itself" in warning
    assert "`label_column=root` was ignored: it applies only to the data set csv" in warning
    assert "csv_path" not in at.query_params and "label_column" not in at.query_params
    assert "csv" in at.selectbox(key="dataset").options  # offered again, for an upload
    at.run()
    assert "`csv_path` was ignored" in _link_warning(at)  # still said; the address bar no longer holds it
    assert not no_file_reads


def test_a_link_naming_a_folder_reads_nothing(no_file_reads, tmp_path):
    write_mnist(tmp_path)
    at = _app(query={"data_dir": str(tmp_path), "dataset": "mnist"})
    assert at.text_input(key="data_dir").value == "" and at.session_state["config"] is None
    assert "`data_dir` was ignored: the app never opens a folder that a link names" in _link_warning(at)
    assert "data_dir" not in at.query_params and not no_file_reads


def test_a_file_setting_on_a_page_without_settings_is_never_used(no_file_reads):
    at = _app("pages/surfaces.py", {"csv_path": "/etc/passwd", "lr": "0.1"})
    notes = [w.value for w in at.sidebar.warning]
    assert any("`lr=0.1`" in n and "csv_path" not in n for n in notes)
    assert any("`csv_path` will not be used on any page" in n for n in notes)
    assert not no_file_reads


def test_a_cnn_link_on_points_in_the_plane_is_refused():
    at = _app(query={"model": "cnn", "dataset": "moons"})
    assert at.session_state["config"].model == "mlp" and not _errors(at)
    assert "`model=cnn` was ignored: model must be mlp for dataset moons (a cnn needs images or signals" in \
        _link_warning(at)
    assert at.selectbox(key="model").options == ["mlp"]
    assert any("A CNN needs images or signals" in c.value for c in at.sidebar.caption)


def test_a_cnn_link_on_digits_trains_a_cnn():
    at = _app(query={"dataset": "digits", "model": "cnn", "channels": "4,8", "steps": "20"})
    assert not _errors(at) and not [w for w in at.warning if "could not use" in w.value]
    config = at.session_state["config"]
    assert (config.dataset, config.model, config.channels, config.steps) == ("digits", "cnn", (4, 8), 20)
    assert at.text_input(key="hidden").disabled and at.selectbox(key="activation").disabled
    assert not at.text_input(key="channels").disabled
    at.button(key="train_step").click().run()
    assert not _errors(at)
    live = at.session_state["live_run"]
    assert live.config.model == "cnn" and live.touch().step == 1


def test_the_model_and_channels_follow_the_data_set():
    at = _app()
    assert at.text_input(key="channels").disabled and not at.text_input(key="hidden").disabled
    at.selectbox(key="dataset").set_value("mnist1d").run()
    assert at.selectbox(key="model").options == ["mlp", "cnn"]
    at.selectbox(key="model").set_value("cnn").run()
    at.text_input(key="channels").set_value("4,4,4").run()
    assert at.session_state["config"].channels == (4, 4, 4) and at.session_state["config"].model == "cnn"
    at.text_input(key="channels").set_value("4,4,4,4").run()
    assert at.session_state["config"] is None
    assert any("channels must be" in e for e in _errors(at))
