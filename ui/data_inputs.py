"""The sidebar's Data section: every data set of DATASETS, MNIST's folder and subset, and a user's CSV upload.

A data set that reads files takes its path only from this session's own widgets, never from the URL: `data_dir` is a
text input without a URL binding, and `csv_path` is set only here, when an upload passes the loader's checks and is
saved under a name the server chooses (its content's hash) in a folder of this session. A link that names either is
reported and dropped (ui.sidebar.config_ui).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import streamlit as st

from core.model import config as cfg
from core.model import csv_table, loaders
from core.model.data import DATASETS, DEFAULT_MNIST_DIR

D = cfg.DEFAULT
URL = {"bind": "query-params"}  # as in ui.sidebar: widget key = config field = URL parameter
NOT_FROM_URL = {"data_dir": "the app never opens a folder that a link names; type it under Data",
                "csv_path": "the app never opens a file that a link names; upload the CSV under Data"}
"""Config fields that a link may not set, and why."""
OPTION_FIELDS = tuple(dict.fromkeys(f for source in DATASETS.values() for f in source.options))
"""The config fields that only some data sets read (data_dir, subset, csv_path, label_column, seq_len)."""
UPLOAD, ACCEPTED, REFUSED, SEEN, FOLDER = "csv_upload", "csv_accepted", "csv_refused", "csv_seen", "csv_folder"
FELL_BACK = "csv_link_fell_back"


def users_of(field: str) -> list[str]:
    """The data sets that read an option field ([] for a field every data set may use)."""
    return [name for name, source in DATASETS.items() if field in source.options]


def data_values(values: dict) -> dict:
    """The config values with the option fields that the data set does not read left out (they take their defaults),
    and the MNIST folder stripped: the sidebar's config and the one a button's callback builds agree."""
    source = DATASETS.get(values.get("dataset", D.dataset))
    values = {k: v for k, v in values.items() if k not in OPTION_FIELDS or (source and k in source.options)}
    if isinstance(values.get("data_dir"), str):
        values["data_dir"] = values["data_dir"].strip()
    return values


def mnist_folder(data_dir: str) -> str:
    return data_dir.strip() or DEFAULT_MNIST_DIR


def mnist_missing(folder: str) -> list[str]:
    """MNIST's files (loaders.MNIST_FILES) that are in the folder neither plain nor gzipped."""
    return [name for name in loaders.MNIST_FILES
            if not any(os.path.isfile(os.path.join(folder, name + ext)) for ext in ("", ".gz"))]


def data_problem(values: dict) -> str | None:
    """Why the data of these config values cannot be read now (a sentence), or None: the MNIST files are missing, or
    no CSV has been accepted. Checked before any run starts, so that the Train button never starts one that fails."""
    dataset = values.get("dataset")
    if dataset == "mnist":
        folder = mnist_folder(str(values.get("data_dir", "")))
        missing = mnist_missing(folder)
        if missing:
            return (f"MNIST needs its four files in `{folder}`, and {len(missing)} of them "
                    f"({', '.join(missing)}) are not there (each may also be gzipped, `.gz`). Copy them there, or "
                    f"download them on the server with `python -m core fetch-mnist --out {folder}`.")
    if dataset == "csv":
        path = values.get("csv_path") or ""
        if not path:
            return ("Upload a CSV file: a header of column names, then one row per sample; numeric features, and a "
                    "label column (whole numbers or text make a classification, other numbers a regression).")
        if not os.path.isfile(path):
            return "The uploaded CSV file is no longer on the server; upload it again."
    return None


# ---- the CSV upload -------------------------------------------------------------------------------------------------
def session_folder() -> Path:
    """This session's folder for accepted uploads (made once, readable by this user only)."""
    folder = st.session_state.get(FOLDER)
    if folder is None or not os.path.isdir(folder):
        folder = tempfile.mkdtemp(prefix="playground-upload-")
        st.session_state[FOLDER] = folder
    return Path(folder)


def shown_name(name: str) -> str:
    """An uploaded file's name, safe to show in Markdown: letters, digits, '.', '-', '_' and spaces, at most 60."""
    safe = re.sub(r"[^\w.\- ]", "_", name).strip() or "the file"
    return safe if len(safe) <= 60 else safe[:57] + "..."


def describe_table(table: csv_table.Table) -> str:
    """'150 rows, 4 features, classification with 3 classes' (or '..., regression')."""
    n, d = len(table.y), len(table.features)
    task = (f"classification with {len(table.classes)} classes" if table.task == "classification"
            else "regression")
    return f"{n:,} rows, {d} feature{'s' if d != 1 else ''}, {task}"


def accept_csv(name: str, data: bytes, label: str | None, folder: str | os.PathLike | None = None
               ) -> tuple[dict | None, str]:
    """Check an uploaded CSV with the loader and, when it is good, save it in `folder` (default: this session's)
    under its content's hash. Returns (config changes, a one-line summary of the table), or (None, the loader's
    sentence naming the problem). `label`: the label column; None, or a name the file lacks, takes its last column.
    `name` (the browser's file name) is never used for the path."""
    try:
        columns = csv_table.csv_columns(data)
        label = label if label in columns else columns[-1]
        table = csv_table.load_csv(data, label)
    except ValueError as exc:
        return None, str(exc)
    target = Path(folder) if folder is not None else session_folder()
    path = target / f"{hashlib.sha256(data).hexdigest()[:32]}.csv"
    if not path.is_file():
        loaders.write_atomically(data, path)
    return {"dataset": "csv", "csv_path": str(path), "label_column": label}, describe_table(table)


def _take_upload(file) -> None:
    """Check a newly uploaded file once; keep it (ACCEPTED, and csv_path) or the reason it was refused (REFUSED). A
    refused file changes nothing: the session keeps its runs and the CSV it had."""
    st.session_state[SEEN] = file.file_id
    before, data = st.session_state.get(ACCEPTED), file.getvalue()
    changes, message = accept_csv(file.name, data, before["label"] if before else None)
    if changes is None:
        st.session_state[REFUSED] = (file.file_id, f"**{shown_name(file.name)}** was not used. {message}")
        return
    st.session_state.pop(REFUSED, None)
    st.session_state[ACCEPTED] = {"name": shown_name(file.name), "path": changes["csv_path"],
                                  "label": changes["label_column"], "columns": csv_table.csv_columns(data),
                                  "summary": message}
    st.session_state["label_column"] = changes["label_column"]


def _label_changed() -> None:
    """The label selectbox's callback: a label column that does not make a data set is refused and put back."""
    accepted, label = st.session_state[ACCEPTED], st.session_state["label_column"]
    try:
        table = csv_table.load_csv(accepted["path"], label)
    except ValueError as exc:  # the loader names the file by its path: the server's folders are not the visitor's
        reason = str(exc).replace(accepted["path"], "The uploaded file")
        st.session_state[REFUSED] = ("label", f"The label column **{shown_name(label)}** was not used. {reason}")
        st.session_state["label_column"] = accepted["label"]
        return
    st.session_state.pop(REFUSED, None)
    st.session_state[ACCEPTED] = {**accepted, "label": label, "summary": describe_table(table)}


def _csv_ui() -> dict:
    file = st.file_uploader(
        "CSV file", type="csv", key=UPLOAD, max_upload_size=max(1, csv_table.CSV_MAX_BYTES // 2**20),
        help=f"Comma-separated UTF-8 text, at most {csv_table.CSV_MAX_BYTES // 2**20} MB and "
        f"{csv_table.CSV_MAX_ROWS:,} rows: a header of unique column names, then at least "
        f"{csv_table.CSV_MIN_ROWS} rows. "
        "Every column but the label must hold finite numbers (standardised with the training split's mean and std "
        "alone). The file stays on the server for this session only.")
    if file is not None and st.session_state.get(SEEN) != file.file_id:
        _take_upload(file)
    refused = st.session_state.get(REFUSED)
    if refused is not None and (refused[0] == "label" or (file is not None and refused[0] == file.file_id)):
        st.error(refused[1], icon=":material/error:")
        if refused[0] == "label":
            st.session_state.pop(REFUSED)  # said once; the label is back to the one that works
    accepted = st.session_state.get(ACCEPTED)
    st.session_state["csv_path"] = accepted["path"] if accepted else ""  # set here only: never from a link
    if accepted is None:
        return {"csv_path": ""}
    columns = accepted["columns"]
    if st.session_state.get("label_column") not in columns:
        st.session_state["label_column"] = accepted["label"]
    label = st.selectbox("Label column", columns, key="label_column",  # its value: always set above
                         on_change=_label_changed, help="The column to predict; every other column is a feature.",
                         **URL)
    st.caption(f"{accepted['name']}: {accepted['summary']}.")
    return {"csv_path": accepted["path"], "label_column": label}


def _mnist_ui() -> dict:
    data_dir = st.text_input(
        "Folder with the MNIST files", key="data_dir", max_chars=1000, placeholder=DEFAULT_MNIST_DIR,
        help="A folder on the server with MNIST's four IDX files (" + ", ".join(loaders.MNIST_FILES) + "; each may "
        f"be gzipped). Empty: {DEFAULT_MNIST_DIR}, where `python -m core fetch-mnist` puts them. Never taken from "
        "a link.")
    subset = st.number_input("Images (0 = all 70,000)", 0, 70_000, D.subset, 1000, key="subset",
                             help="Drawn (seeded by the data seed) from the 60,000 training and 10,000 test images, "
                             "then split into training and validation.", **URL)
    return {"data_dir": data_dir.strip(), "subset": subset}


def data_ui() -> tuple[dict, str | None]:
    """The Data expander: returns (its config values, why its data cannot be read now or None). The reason is shown
    here as an st.info; the sidebar then makes no config, so Train stays disabled."""
    accepted = st.session_state.get(ACCEPTED)
    names = list(DATASETS)
    if "dataset" not in st.session_state and st.query_params.get("dataset") == "csv" and accepted is None:
        names.remove("csv")  # a link's dataset=csv without its file: fall back to the default (and say why)
        st.session_state[FELL_BACK] = True  # the sidebar then reruns, to offer csv again
    with st.expander("Data", expanded=True):
        v = {"dataset": st.selectbox("Data set", names, key="dataset",
                                     help="\n".join(f"- **{k}**: {d.description}" for k, d in DATASETS.items()),
                                     **URL)}
        source = DATASETS[v["dataset"]]
        if v["dataset"] == "mnist":
            v.update(_mnist_ui())
        elif v["dataset"] == "csv":
            v.update(_csv_ui())
        if "seq_len" in source.options:
            v["seq_len"] = st.number_input("Sequence length T", 2, cfg.MAX_SEQ_LEN, D.seq_len, key="seq_len",
                                           help="Steps of each sequence: the memory the task needs.", **URL)
        v["n_samples"] = st.slider("Points", 100, 20_000, D.n_samples, 100, key="n_samples", disabled=not source.sized,
                                   help="Size of a generated set (digits always has 1,797 images).", **URL)
        v["noise"] = st.slider("Noise", 0.0, 1.0, D.noise, 0.05, key="noise", disabled=not source.sized, **URL)
        v["val_fraction"] = st.slider("Validation share", 0.05, 0.5, D.val_fraction, 0.05, key="val_fraction",
                                      **URL)
        v["data_seed"] = st.number_input("Data seed", 0, 10**6, D.data_seed, key="data_seed", **URL)
        problem = data_problem(v)
        if problem is not None:
            st.info(problem, icon=":material/folder_open:")
    return v, problem
