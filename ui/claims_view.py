"""A preset's lesson as checked claims: each sentence shown as holds or fails, with the number measured on this run."""

from __future__ import annotations

import streamlit as st

from core import claims, presets
from core.claims import Evidence
from core.model.config import TrainConfig
from ui import runs

CACHE = "claims_cache"


def show(verdicts: list[claims.Verdict], what: str, final: bool = True) -> None:
    """The claims as a checklist under the caption; a failure is said plainly."""
    lines = []
    for v in verdicts:
        if not v.applies:
            lines.append(f"- :gray[**{claims.NOT_REGRESSION}**] · {v.claim.text}")
            continue
        mark = ":green[**holds**]" if v.holds else ":red[**fails**]"
        lines.append(f"- {mark} · {v.claim.text}: measured **{v.value:{v.claim.fmt}}**, needs {v.claim.op} "
                     f"{v.claim.bound:{v.claim.fmt}}")
    st.markdown(f"**The caption's claims, checked on {what}**" + ("" if final else " (so far: the run is not done)")
                + "\n" + "\n".join(lines))
    verdicts = [v for v in verdicts if v.applies]
    failed = [v for v in verdicts if not v.holds]
    if failed and final:
        st.warning(f"{len(failed)} of {len(verdicts)} claims fail on this run, so the caption does not describe what "
                   "you see here (another seed or setting can change the picture).", icon=":material/report:")


def for_records(preset: presets.Preset) -> None:
    """Check a preset's claims on its runs (once they are all trained), or on the analytic problem it draws."""
    names = st.session_state.get("preset_runs", [])
    available = runs.available()
    if preset.runs and not all(n in available for n in names):
        st.caption("Its claims are checked on your runs once they finish training.")
        return
    records = [available[n] for n in names] if preset.runs else []
    key = (preset.name, tuple((r.name, r.step) for r in records))
    cache = st.session_state.setdefault(CACHE, {})
    if key not in cache:
        with st.spinner("Checking the caption's claims on your runs…"):
            cache[key] = claims.check(preset.claims, presets.evidence(preset, records))
    what = "your runs: " + ", ".join(r.name for r in records) if records else "what the page draws"
    show(cache[key], what)


def for_live(preset: presets.Preset, snap) -> None:
    """Check a Train-page preset's claims on the live run's snapshot (they firm up as the run finishes)."""
    evidence: Evidence = presets.monitor_evidence(snap.metrics, snap.points, snap.curvature, snap.task)
    verdicts = claims.check(preset.claims, evidence)
    differs = [k for k, v in TrainConfig(**preset.runs[0]).to_dict().items()
               if k != "device" and snap.config.to_dict().get(k) != v]
    what = "this run" + (f" (it differs from the preset in {', '.join(differs)})" if differs else "")
    show(verdicts, what, final=snap.status in ("done", "diverged", "failed"))
