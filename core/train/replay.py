"""A finer trajectory by replaying a run: deterministic on the CPU, checked against the recorded checkpoints."""

from __future__ import annotations

import numpy as np
import torch

from core.train.run import Run

REPLAY_POINTS = 512  # at most this many snapshots ...
REPLAY_BYTES = 64 * 2**20  # ... and this many bytes of them (as core.train.store.Trajectory)
REPLAY_TOLERANCE = 1e-3  # of ‖θ_f − θ_i‖: how far a replayed checkpoint may lie from the recorded one


def replay_targets(logged, checkpoints, last: int, n_params: int) -> list[int]:
    """The steps to capture: every logged step up to `last` and every checkpoint step, thinned evenly to the caps
    (checkpoints always kept)."""
    keep = sorted({int(s) for s in checkpoints if s <= last})
    logged = sorted({int(s) for s in logged if 0 <= s <= last} - set(keep))
    room = max(0, min(REPLAY_POINTS, REPLAY_BYTES // (4 * n_params)) - len(keep))
    if len(logged) > room:
        picks = np.unique(np.linspace(0, len(logged) - 1, room).round().astype(int)) if room else []
        logged = [logged[i] for i in picks]
    return sorted(set(keep) | set(logged))


def replay(config, targets: list[int], progress=None) -> tuple[list[int], torch.Tensor]:
    """Train config again from scratch (deterministic on the CPU) and keep θ at each target step: (steps, (K, P))
    float32 on the CPU. Stops early if the run ends before a target (then fewer steps come back)."""
    run, kept, thetas = Run(config), [], []
    last = max(targets)
    for step in sorted(set(targets)):
        if step > run.step:
            run.train(max_steps=step - run.step)
        if run.step != step:
            break
        kept.append(step)
        thetas.append(run.theta.detach().to("cpu", torch.float32).clone())
        if progress is not None:
            progress(step / max(last, 1))
    return kept, torch.stack(thetas)


def check_replay(steps, thetas: torch.Tensor, ref_steps, ref_thetas: torch.Tensor) -> None:
    """Raise ValueError unless the replayed thetas match the recorded checkpoints at every recorded step."""
    at = {s: i for i, s in enumerate(steps)}
    length = float(torch.linalg.vector_norm(ref_thetas[-1].double() - ref_thetas[0].double()))
    for s, ref in zip(ref_steps, ref_thetas):
        if s not in at:
            raise ValueError(f"replaying the run did not reach step {s:,}; it uses its recorded checkpoints instead")
        gap = float(torch.linalg.vector_norm(thetas[at[s]].double() - ref.double()))
        if gap > REPLAY_TOLERANCE * max(length, 1e-12):
            raise ValueError(f"replaying the run did not reproduce it (at step {s:,} θ differs by {gap:.3g}; were its "
                             "settings changed while it trained?); it uses its recorded checkpoints instead")
