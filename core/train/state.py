"""A run's whole state in safe files (safetensors and JSON), so that a trainer can drop a run from memory, or die,
while the run stays resumable exactly: parameters, optimizer state, the bounded stores, the minibatch order and its
generator, and what the next logged row needs.

Each save is a new generation, written so that a crash at any moment leaves a good one behind: the tensors go to
state-N.safetensors and the rest to state-N.json, each under a temporary name, flushed to disk (fsync) and then
renamed. The JSON is renamed last and carries a manifest (the step, and the tensor file's size and SHA-256): a
generation counts only when its manifest matches its tensors. The newest good generation is loaded; the one before it
is kept as a fallback, older ones are deleted.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from core.model import optim
from core.model.config import from_dict
from core.model.loaders import write_atomically
from core.train.run import Run

KEEP = 2  # generations kept: the newest and one to fall back on
_NAME = re.compile(r"state-(\d+)\.json")


class Damaged(ValueError):
    """No good generation in the folder; the message says so in one sentence."""


def _log(log) -> dict:
    return {"rows": log.rows, "stride": log.stride, "offered": log._offered}


def _set_log(log, saved: dict) -> None:
    log.rows, log.stride, log._offered = saved["rows"], saved["stride"], saved["offered"]


def _tensors(run: Run) -> dict[str, torch.Tensor]:
    _, thetas = run.trajectory.view()
    tensors = {"theta_init": run.theta_init, "theta": run.theta, "trajectory": thetas, "order": run._order,
               "generator": run._gen.get_state()}
    for name, value in run.opt_state._asdict().items():
        if isinstance(value, torch.Tensor):
            tensors[f"opt.{name}"] = value
    if run._last["step_length"] is not None:
        tensors["last.step_length"] = run._last["step_length"]
    if run._last["before"] is not None:
        for name, value in zip(("theta", "x", "y"), run._last["before"], strict=True):
            tensors[f"before.{name}"] = value
    if run._lambda_vector is not None:
        tensors["lambda_vector"] = run._lambda_vector
    return {k: v.detach().cpu().contiguous() for k, v in tensors.items()}


def _meta(run: Run) -> dict:
    steps, _ = run.trajectory.view()
    opt = {k: v for k, v in run.opt_state._asdict().items() if not isinstance(v, torch.Tensor)}
    last = {k: v for k, v in run._last.items() if k not in ("step_length", "before")}
    return {"config": run.config.to_dict(), "step": run.step, "status": run.status, "message": run.message,
            "log_every": run.log_every, "cursor": run._cursor, "curvature_seen": run._curvature_seen,
            "train_seconds": run.train_seconds, "opt_type": type(run.opt_state).__name__, "opt": opt, "last": last,
            "metrics": _log(run.metrics), "points": _log(run.points),
            "trajectory": {"steps": steps, "stride": run.trajectory.stride}}


def generations(folder: Path) -> list[int]:
    """The generation numbers with a JSON file in folder, newest first."""
    if not folder.is_dir():
        return []
    found = (_NAME.fullmatch(p.name) for p in folder.iterdir())
    return sorted((int(m.group(1)) for m in found if m), reverse=True)


def save(run: Run, folder: Path) -> int:
    """Write the run's state into folder (made if missing) as a new generation; returns its number."""
    folder.mkdir(parents=True, exist_ok=True)
    done = generations(folder)
    n = (done[0] + 1) if done else 0
    blob = save_tensors(_tensors(run))
    meta = _meta(run)
    meta["manifest"] = {"generation": n, "step": run.step, "tensors": f"state-{n}.safetensors", "size": len(blob),
                        "sha256": hashlib.sha256(blob).hexdigest()}
    write_atomically(blob, folder / f"state-{n}.safetensors")
    write_atomically(json.dumps(meta).encode("utf-8"), folder / f"state-{n}.json")
    for old in done[KEEP - 1:]:
        for suffix in ("json", "safetensors"):
            (folder / f"state-{old}.{suffix}").unlink(missing_ok=True)
    return n


def _read(folder: Path, n: int, with_tensors: bool) -> tuple[dict, dict | None]:
    """(meta, tensors) of generation n; ValueError when it is missing, cut short or does not match its manifest."""
    try:
        meta = json.loads((folder / f"state-{n}.json").read_bytes())
        manifest = meta["manifest"]
        blob = (folder / manifest["tensors"]).read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"generation {n}: {exc}") from None
    if len(blob) != manifest["size"] or hashlib.sha256(blob).hexdigest() != manifest["sha256"]:
        raise ValueError(f"generation {n}: its tensors do not match its manifest")
    return meta, (load_tensors(blob) if with_tensors else None)


def _newest_good(folder: Path, with_tensors: bool) -> tuple[dict, dict | None]:
    problems = []
    for n in generations(folder):
        try:
            return _read(folder, n, with_tensors)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise Damaged("This run's saved state is damaged (" + "; ".join(problems) + "), so it cannot go on; "
                      "press Reset to start again.")
    raise Damaged("This run has no saved state to go on from; press Reset to start again.")


def summary(folder: Path) -> dict:
    """The newest good generation's config, step, status and message, without building the run."""
    meta, _ = _newest_good(folder, with_tensors=False)
    return {k: meta[k] for k in ("config", "step", "status", "message")}


def exists(folder: Path) -> bool:
    return bool(generations(folder))


def load(folder: Path) -> Run:
    """The run of the newest good generation in folder (falling back on the one before when the newest is damaged),
    on its config's device, ready to train on from where it stopped. Damaged when none is good."""
    meta, tensors = _newest_good(folder, with_tensors=True)
    try:
        return _build(meta, tensors)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise Damaged(f"This run's saved state could not be read back ({exc}); press Reset to start again.") from None


def _build(meta: dict, tensors: dict) -> Run:
    run = Run(from_dict(meta["config"]))
    t = {k: v.to(run.device) for k, v in tensors.items()}
    run.theta_init = t["theta_init"]
    with torch.no_grad():
        run.theta.copy_(t["theta"])  # in place: the leaves the step differentiates are views of it
    fields = {name: t[f"opt.{name}"] if f"opt.{name}" in t else meta["opt"][name]
              for name in getattr(optim, meta["opt_type"])._fields}
    run.opt_state = getattr(optim, meta["opt_type"])(**fields)
    run.step, run.status, run.message = meta["step"], meta["status"], meta["message"]
    run.log_every, run._cursor = meta["log_every"], meta["cursor"]
    run._curvature_seen, run.train_seconds = meta["curvature_seen"], meta["train_seconds"]
    run._order = t["order"]
    run._gen.set_state(t["generator"].cpu())
    _set_log(run.metrics, meta["metrics"])
    _set_log(run.points, meta["points"])
    steps = meta["trajectory"]["steps"]
    run.trajectory.steps, run.trajectory.stride = list(steps), meta["trajectory"]["stride"]
    run.trajectory.thetas[: len(steps)].copy_(t["trajectory"])
    before = tuple(t[f"before.{n}"] for n in ("theta", "x", "y")) if "before.theta" in t else None
    run._last = {**meta["last"], "step_length": t.get("last.step_length"), "before": before}
    run._lambda_vector = t.get("lambda_vector")
    return run
