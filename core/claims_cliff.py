"""The cliff view's lessons (Long-term dependencies page; Deep Learning §8.2.4, Pascanu et al. 2013) as claims
(core.claims' Claim and Verdict), checked on what the view draws: the loss along a line from a trained RNN's θ_final
through a cliff, and plain and clipped gradient descent from the cliff face (core.probes.memory.cliff_probe).

Evidence(tables={"line": CLIFF_COLUMNS rows, "plain": DESCENT_COLUMNS rows, "clipped": DESCENT_COLUMNS rows},
numbers={"theta_norm": ‖θ_final‖, "chance": the loss at chance, ln(classes)}). Definitions: docs/definitions.md.
"""

from __future__ import annotations

import math

import numpy as np

from core import claims as core_claims
from core.claims import Claim, Evidence, Verdict

JUMP, WINDOW_SHARE = 10.0, 0.001  # a cliff: the loss changes 10× within 0.1% of ‖θ_final‖ along the line


def evidence(probe, chance: float) -> Evidence:
    """The Evidence of a core.probes.memory.CliffProbe (or anything with its fields) and the loss at chance."""
    return Evidence(tables={"line": probe.line, "plain": probe.plain, "clipped": probe.clipped},
                    numbers={"theta_norm": probe.theta_norm, "face_s": probe.face_s, "chance": chance})


def steepest_jump(ev: Evidence, window_share: float) -> float:
    """The largest max J / min J over the line's points within any window of s of width window_share·‖θ_final‖
    (a sorted sweep; NaN when a loss is not finite and positive or the line has fewer than two points)."""
    line = ev.tables["line"].sort_values("s")
    s, loss = line["s"].to_numpy(float), line["loss"].to_numpy(float)
    width = window_share * ev.numbers["theta_norm"]
    if len(s) < 2 or not (np.isfinite(loss).all() and (loss > 0).all()) or not width > 0:
        return math.nan
    ends = np.searchsorted(s, s + width, side="right")
    return float(max(loss[i:j].max() / loss[i:j].min() for i, j in enumerate(ends)))


def after_one_step(ev: Evidence, walk: str) -> float:
    """J after the first step of the walk ("plain" or "clipped") from the cliff face."""
    frame = ev.tables[walk]
    return float(frame["loss"].iloc[1]) if len(frame) > 1 else math.nan


def end_over_start(ev: Evidence, walk: str) -> float:
    """J at the walk's last step over J at the cliff face, where it starts."""
    loss = ev.tables[walk]["loss"].to_numpy(float)
    return float(loss[-1] / loss[0]) if len(loss) > 1 and loss[0] > 0 else math.nan


def plain_over_clipped(ev: Evidence) -> float:
    """The plain walk's last J over the clipped walk's last J (the same number of steps)."""
    plain, clipped = ev.tables["plain"]["loss"].to_numpy(float), ev.tables["clipped"]["loss"].to_numpy(float)
    return float(plain[-1] / clipped[-1]) if len(plain) and len(clipped) and clipped[-1] > 0 else math.nan


def cliff_claims(chance: float, steps: int, clip_norm: float) -> tuple[Claim, ...]:
    """A cliff on the line; the plain step thrown above chance; clipping walking down and staying below the plain
    walk. Measured at the defaults (T = 30, init scale 3, ε = 0.01, c = 1, 30 steps, the line over 1% of ‖θ‖) with
    seeds 0, 1, 5: jumps of 189×, 26× and 2,180×, plain steps landing at 3.99, 3.19 and 3.79, clipped walks ending
    at 0.6%, 0.2% and 0.02% of the face's loss. Seeds 4 and 6 learn the task but show no cliff within 1% of ‖θ‖,
    and 2, 3, 7 do not learn it: there every claim fails."""
    return (
        Claim(f"along the line there is a cliff: within {WINDOW_SHARE:.1%} of ‖θ_final‖ the loss changes by at least "
              f"{JUMP:g}×; the largest such ratio", "steepest_jump", ">=", JUMP, (WINDOW_SHARE,), ".3g"),
        Claim("one plain gradient step from the cliff face is thrown off: it lands above the loss at chance "
              "(ln(classes)); J after it", "after_one_step", ">", chance, ("plain",), ".3g"),
        Claim(f"clipping the same step to norm {clip_norm:g} walks down: after {steps} clipped steps J is below a "
              "tenth of its value on the face; J_end / J_face", "end_over_start", "<", 0.1, ("clipped",), ".3g"),
        Claim(f"after {steps} steps the plain walk is still above the clipped one: J_end(plain) / J_end(clipped)",
              "plain_over_clipped", ">", 1.0, (), ".3g"),
    )


MEASURES = {f.__name__: f for f in (steepest_jump, after_one_step, end_over_start, plain_over_clipped)}


def check(claims, ev: Evidence) -> list[Verdict]:
    """Every claim measured on the evidence (these measures); a NaN measure fails."""
    return core_claims.check(claims, ev, MEASURES)
