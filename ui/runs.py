"""This browser session's runs: the Train page's run, the runs kept from before, and a queue of runs to train.

The Interpolation and Straying pages pick their endpoints and trajectories from here. Queued runs train one at a
time in worker processes (core.train.live), advanced by whichever page is open; each becomes a RunRecord when done.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import streamlit as st
import torch

from core.model.config import TrainConfig
from core.model.data import task_of
from core.model.records import RunRecord, describe, short_name
from core.train.live import CapacityError, LiveRun

RECORDS, QUEUE, COUNTER, LIVE_NAME = "run_records", "run_queue", "run_counter", "live_run_name"
RETIRING = "retiring_runs"  # futures of replaced Train-page runs being archived ([record] or [])
MAX_RECORDS = 12  # kept runs per session (each holds at most 17 checkpoints)


def next_name(config: TrainConfig) -> str:
    """'#3 relu [256, 256] seed 1': numbered in the order runs are made in this session."""
    n = st.session_state.get(COUNTER, 0) + 1
    st.session_state[COUNTER] = n
    return short_name(config, n)


def kept() -> dict[str, RunRecord]:
    return st.session_state.setdefault(RECORDS, {})


def keep(record: RunRecord) -> None:
    """Add (or replace) a record; the oldest goes when there are more than MAX_RECORDS."""
    records = kept()
    records.pop(record.name, None)
    records[record.name] = record
    while len(records) > MAX_RECORDS:
        records.pop(next(iter(records)))


RETIRERS = ThreadPoolExecutor(4, thread_name_prefix="retire-run")  # for the whole server: threads stay bounded


def _archive(live: LiveRun, name: str | None) -> list[RunRecord]:
    """The record of a replaced Train-page run (when it took a step), then its run taken off its trainer."""
    try:
        if name and live.touch().step > 0:
            record = live.record(name)
            return [dataclasses.replace(record, status="paused") if record.status == "running" else record]
    except ValueError:  # its trainer could not give it back; nothing to keep
        pass
    finally:
        live.close()
    return []


def retire(live: LiveRun, name: str | None, wait: bool = False) -> None:
    """Keep the Train page's run before it is replaced, in the background: fetching its record waits for its
    trainer's chunk, and a Reset should not (unless `wait`). available() collects it."""
    future = RETIRERS.submit(_archive, live, name)
    if wait:
        future.result(30)
    st.session_state.setdefault(RETIRING, []).append(future)


def _collect_retired() -> None:
    """Keep the records of retired runs (waiting for those still at work)."""
    for future in st.session_state.pop(RETIRING, []):
        try:
            for record in future.result(30):
                keep(record)
        except Exception:  # noqa: BLE001 - a run that could not be archived is simply not kept
            pass


def train_page_record() -> RunRecord | None:
    """The Train page's run as a record, fetched again only when it has moved on."""
    live = st.session_state.get("live_run")
    name = st.session_state.get(LIVE_NAME)
    if live is None or name is None:
        return None
    status = live.touch()
    if status.step == 0:
        return None
    cached = st.session_state.get("live_record")
    if cached is not None and cached[0] == (id(live), status.step, status.status):
        return cached[1]
    try:
        record = live.record(name)
    except ValueError:
        return None if cached is None else cached[1]
    st.session_state["live_record"] = ((id(live), status.step, status.status), record)
    return record


def train_page_view() -> RunRecord | None:
    """A light record of the Train page's run for redrawing while it trains: its live snapshot (float32 straying,
    refreshed at most once a second by the worker) with θ_i and θ now as the only checkpoints."""
    live, name = st.session_state.get("live_run"), st.session_state.get(LIVE_NAME)
    if live is None or name is None:
        return None
    try:
        snap = live.snapshot()
    except ValueError:
        return None
    ends = torch.stack([snap.theta_init.cpu().float(), snap.theta.cpu().float()])
    return RunRecord(name, snap.config, snap.status, (0, snap.step), ends, snap.metrics, snap.straying)


def available() -> dict[str, RunRecord]:
    """Every run a page can use: the Train page's run first (if it has steps), then the kept ones, newest first."""
    _collect_retired()
    out = {}
    live = train_page_record()
    if live is not None:
        out[live.name] = live
    for name, record in reversed(kept().items()):
        out.setdefault(name, record)
    return out


# ---- the queue --------------------------------------------------------------------------------------------
def enqueue(configs: list[TrainConfig]) -> list[str]:
    """Queue runs to train; returns their names."""
    queue = st.session_state.setdefault(QUEUE, [])
    names = []
    for config in configs:
        names.append(next_name(config))
        queue.append({"name": names[-1], "config": config, "live": None})
    return names


def queued() -> list[dict]:
    return st.session_state.get(QUEUE, [])


def advance_queue() -> str | None:
    """Start, keep alive or collect the first queued run; returns a problem to show, if any."""
    queue = queued()
    if not queue:
        return None
    job = queue[0]
    try:
        if job["live"] is None:
            job["live"] = LiveRun(job["config"])
        live = job["live"]
        status = live.touch()
        if status.status in ("done", "diverged", "failed"):
            if status.step > 0:
                keep(live.record(job["name"]))
            live.close()
            queue.pop(0)
            return advance_queue() if status.status == "done" else f"{job['name']}: {status.message}"
        if not status.training:
            live.start()
    except CapacityError as exc:
        return f"Waiting: {exc}"
    except ValueError as exc:
        if job["live"] is not None:
            job["live"].close()
        queue.pop(0)
        return f"{job['name']} could not train: {exc}"
    return None


def queue_progress() -> tuple[float, str] | None:
    """(fraction done of the first queued run, a line of text), or None when nothing is queued."""
    queue = queued()
    if not queue:
        return None
    job = queue[0]
    status = job["live"].touch() if job["live"] is not None else None
    total = job["config"].steps
    more = f" (then {len(queue) - 1} more)" if len(queue) > 1 else ""
    if status is not None and status.status == "waiting":
        return 0.0, f"{job['name']}: {status.message}{more}"
    step = status.step if status is not None else 0
    return min(step / total, 1.0), f"Training {job['name']}: step {step:,} of {total:,}{more}"


def cancel_queue() -> None:
    for job in queued():
        if job["live"] is not None:
            job["live"].close()
    st.session_state[QUEUE] = []


def describe_record(record: RunRecord) -> dict:
    """One row of the runs table."""
    regression = record_task(record) == "regression"
    error = record.final_value("val_error")
    return {"run": record.name, "settings": describe(record.config), "steps": record.step, "status": record.status,
            "train loss": record.final_value("train_loss"), "val error": None if regression else error,
            "val RMSE": error if regression else None}


def record_task(record: RunRecord) -> str:
    """classification or regression: what the run's data set makes (a CSV's labels decide); "classification" when
    its data cannot be read any more (a file gone)."""
    try:
        return task_of(record.config)
    except ValueError:
        return "classification"
