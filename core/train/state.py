"""A run's whole state in two safe files (state.safetensors and state.json), so that a worker can give its process
back while the run stays resumable exactly: parameters, optimizer state, the bounded stores, the minibatch order
and its generator, and what the next logged row needs."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from core.model import optim
from core.model.config import from_dict
from core.train.run import Run

TENSORS, META = "state.safetensors", "state.json"


def _log(log) -> dict:
    return {"rows": log.rows, "stride": log.stride, "offered": log._offered}


def _set_log(log, saved: dict) -> None:
    log.rows, log.stride, log._offered = saved["rows"], saved["stride"], saved["offered"]


def save(run: Run, folder: Path) -> None:
    """Write the run's state into folder (made if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    steps, thetas = run.trajectory.view()
    tensors = {"theta_init": run.theta_init, "theta": run.theta, "trajectory": thetas, "order": run._order,
               "generator": run._gen.get_state()}
    opt = {}
    for name, value in run.opt_state._asdict().items():
        if isinstance(value, torch.Tensor):
            tensors[f"opt.{name}"] = value
        else:
            opt[name] = value
    last = dict(run._last)
    if (step_length := last.pop("step_length")) is not None:
        tensors["last.step_length"] = step_length
    before = last.pop("before")
    if before is not None:
        for name, value in zip(("theta", "x", "y"), before, strict=True):
            tensors[f"before.{name}"] = value
    if run._lambda_vector is not None:
        tensors["lambda_vector"] = run._lambda_vector
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(folder / TENSORS))
    meta = {"config": run.config.to_dict(), "step": run.step, "status": run.status, "message": run.message,
            "log_every": run.log_every, "cursor": run._cursor, "curvature_seen": run._curvature_seen,
            "train_seconds": run.train_seconds, "opt_type": type(run.opt_state).__name__, "opt": opt, "last": last,
            "metrics": _log(run.metrics), "points": _log(run.points),
            "trajectory": {"steps": steps, "stride": run.trajectory.stride}}
    (folder / META).write_text(json.dumps(meta), encoding="utf-8")


def summary(folder: Path) -> dict:
    """The saved run's config, step, status and message, without loading its tensors."""
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    return {k: meta[k] for k in ("config", "step", "status", "message")}


def load(folder: Path) -> Run:
    """The run saved in folder, on its config's device, ready to train on from where it stopped."""
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    run = Run(from_dict(meta["config"]))
    t = {k: v.to(run.device) for k, v in load_file(str(folder / TENSORS)).items()}
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
