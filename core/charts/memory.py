"""Charts of the Long-term dependencies page (definitions §14): repeated multiplication h_t = W h_{t−1} and its
gradient, with the closed form λᵗ over the computed components; ‖∂J/∂h_t‖ of recurrent runs against t; and the
share of random restarts that fit against the sequence length T, RNN against LSTM. Pure functions from frames to Altair
specs; legends sit below the plots (outside them)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

HEIGHT = 440  # all of a chart in Streamlit: title, plot, axes and the legend below
LOG = alt.Scale(type="log")
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
NORM_COLOR = "#1a1a1a"
COMPUTED, CLOSED = "computed (points)", "closed form (dashed line)"


def _legend(**extra) -> alt.Legend:
    return alt.Legend(orient="bottom", title=None, labelLimit=400, **extra)


def component_label(k: int, lam: float) -> str:
    """'q1: λ = 0.9' for component k (1-based)."""
    return f"q{k}: λ = {lam:g}".replace("-", "−")


def closed_form(eigenvalues, exponents: np.ndarray, start: np.ndarray) -> np.ndarray:
    """(len(exponents), n): λ_k^e · start_k for every exponent e (t forward, T − t backward)."""
    lam = np.asarray(eigenvalues, dtype=float)
    return np.power(lam[None, :], np.asarray(exponents, dtype=float)[:, None]) * np.asarray(start, float)[None, :]


def chain_long(frame: pd.DataFrame, eigenvalues, backward: bool = False) -> pd.DataFrame:
    """Long rows (t, series, kind, value) of a chain or gradient_chain frame: ‖v‖ and |component_k| as computed, and
    the closed form |λ_k^e · start_k| (e = t forward; e = T − t backward, start = the component at t = T) as lines.
    Values ≤ 0 (an exact zero, which a log axis cannot draw) are left out."""
    lam = list(eigenvalues)
    t = frame["t"].to_numpy(float)
    comps = frame[[f"component_{k + 1}" for k in range(len(lam))]].to_numpy(float)
    if backward:
        exponents, start = frame["steps_back"].to_numpy(float), comps[-1]
    else:
        exponents, start = t, comps[0]
    closed = closed_form(lam, exponents, start)
    norm_name = "‖∂J/∂h_t‖" if backward else "‖h_t‖"
    parts = [pd.DataFrame({"t": t, "series": norm_name, "kind": COMPUTED, "value": frame["norm"].to_numpy(float)})]
    for k, value in enumerate(lam):
        label = component_label(k + 1, value)
        parts.append(pd.DataFrame({"t": t, "series": label, "kind": COMPUTED, "value": np.abs(comps[:, k])}))
        parts.append(pd.DataFrame({"t": t, "series": label, "kind": CLOSED, "value": np.abs(closed[:, k])}))
    long = pd.concat(parts, ignore_index=True)
    return long[np.isfinite(long["value"]) & (long["value"] > 0)].reset_index(drop=True)


def _series_scale(eigenvalues, norm_name: str) -> alt.Scale:
    labels = [component_label(k + 1, v) for k, v in enumerate(eigenvalues)]
    return alt.Scale(domain=[norm_name, *labels],
                     range=[NORM_COLOR, *[COLORS[k % len(COLORS)] for k in range(len(labels))]])


def chain_chart(frame: pd.DataFrame, eigenvalues, backward: bool = False) -> alt.LayerChart:
    """‖v_t‖ and every |q_kᵀv_t| against t on a log y axis, computed (points; the norm a solid line) with the closed
    form |λ_k^e·start_k| as a dashed line of the component's colour. v_t = h_t (forward) or ∂J/∂h_t (backward)."""
    data = chain_long(frame, eigenvalues, backward)
    norm_name = "‖∂J/∂h_t‖" if backward else "‖h_t‖"
    t_max = int(frame["t"].max()) if len(frame) else 1
    x = alt.X("t:Q", title="step t", scale=alt.Scale(domain=[0, t_max], nice=False), axis=alt.Axis(format=",d"))
    what = ("|q_kᵀ ∂J/∂h_t| and ‖∂J/∂h_t‖" if backward else "|q_kᵀ h_t| and ‖h_t‖")
    y = alt.Y("value:Q", title=[what, "log scale"], scale=LOG)
    color = alt.Color("series:N", scale=_series_scale(eigenvalues, norm_name), legend=_legend(columns=2))
    tooltip = ["series:N", "kind:N", "t:Q", alt.Tooltip("value:Q", format=".4g")]
    computed = data[(data["kind"] == COMPUTED) & (data["series"] != norm_name)]
    points = alt.Chart(computed).mark_point(filled=True, size=20, opacity=0.75).encode(
        x=x, y=y, color=color, tooltip=tooltip)
    lines = alt.Chart(data[data["kind"] == CLOSED]).mark_line(strokeDash=[6, 3], strokeWidth=1.5).encode(
        x=x, y=y, color=color, detail="series:N", tooltip=tooltip)
    norm = alt.Chart(data[data["series"] == norm_name]).mark_line(strokeWidth=2.5).encode(
        x=x, y=y, color=color, tooltip=tooltip)
    if backward:
        title = alt.TitleParams(f"Backward: ∂J/∂h_t = (W^(T−t))ᵀ g, T = {t_max}",
                                subtitle="points: by backpropagation; dashed: λ^(T−t) × g's component")
    else:
        title = alt.TitleParams("Forward: h_t = W h_(t−1)",
                                subtitle="points: computed; dashed: λᵗ × the start")
    return (lines + points + norm).properties(title=title, height=HEIGHT)


# ---- ‖∂J/∂h_t‖ of recurrent runs ---------------------------------------------------------------------------------
DASHES = {"θ_init": [6, 3], "θ_final": [1, 0]}


def state_gradient_chart(frame: pd.DataFrame, title: str, subtitle: str = "") -> alt.Chart:
    """‖∂J/∂h_t‖ against t (log y), one line per (run, point): colour the run, dash the point (θ_init dashed,
    θ_final solid). frame: run, point, t, norm."""
    data = frame[np.isfinite(frame["norm"]) & (frame["norm"] > 0)]
    runs = list(dict.fromkeys(frame["run"]))
    points = [p for p in DASHES if p in set(frame["point"])] or list(DASHES)
    t_max = int(frame["t"].max()) if len(frame) else 1
    return alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=22)).encode(
        x=alt.X("t:Q", title="step t (h_t: the state after reading input t)",
                scale=alt.Scale(domain=[1, t_max], nice=False), axis=alt.Axis(format=",d", tickMinStep=1)),
        y=alt.Y("norm:Q", title=["‖∂J/∂h_t‖", "log scale"], scale=LOG),
        color=alt.Color("run:N", sort=runs, legend=_legend(columns=1),
                        scale=alt.Scale(domain=runs, range=[COLORS[k % len(COLORS)] for k in range(len(runs))])),
        strokeDash=alt.StrokeDash("point:N", legend=None,  # the subtitle says which is dashed
                                  scale=alt.Scale(domain=points, range=[DASHES[p] for p in points])),
        tooltip=["run:N", "point:N", "t:Q", alt.Tooltip("norm:Q", title="‖∂J/∂h_t‖", format=".3g")],
    ).properties(title=alt.TitleParams(title, subtitle=subtitle), height=HEIGHT)


# ---- the share of restarts that fit, against T --------------------------------------------------------------------
MODEL_LABELS = {"rnn": "RNN (tanh)", "lstm": "LSTM"}
MODEL_COLORS = {"rnn": COLORS[1], "lstm": COLORS[0]}
MODEL_DASHES = {"rnn": [1, 0], "lstm": [8, 4]}
MODEL_SHAPES = {"rnn": "circle", "lstm": "square"}


def sweep_fractions(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model and T (memory_sweep rows with a `model` column): restarts, how many fit, the share that fits, and
    the median final train loss; models in their order of appearance, T ascending."""
    models = list(dict.fromkeys(frame["model"]))
    grouped = frame.groupby(["model", "seq_len"])
    out = pd.DataFrame({"restarts": grouped.size(), "fit": grouped["fits"].sum().astype(int),
                        "median_loss": grouped["final_train_loss"].median()}).reset_index()
    out["fraction"] = out["fit"] / out["restarts"]
    out["network"] = out["model"].map(lambda m: MODEL_LABELS.get(m, m))
    out["order"] = out["model"].map(models.index)
    out = out.sort_values(["order", "seq_len"]).drop(columns="order").reset_index(drop=True)
    return out[["model", "network", "seq_len", "restarts", "fit", "fraction", "median_loss"]]


def sweep_chart(fractions: pd.DataFrame, title: str, subtitle: str = "") -> alt.Chart:
    """The share of restarts that fit against T, one line per network (sweep_fractions' rows); y from 0 to 100%."""
    models = list(dict.fromkeys(fractions["model"]))
    labels = [MODEL_LABELS.get(m, m) for m in models]
    ts = sorted(int(t) for t in set(fractions["seq_len"]))
    return alt.Chart(fractions).mark_line(point=alt.OverlayMarkDef(size=90, filled=False, strokeWidth=2),
                                          strokeWidth=2.5).encode(
        x=alt.X("seq_len:Q", title="sequence length T (steps the network must remember across)",
                scale=alt.Scale(domain=[min(ts, default=0), max(ts, default=1)], nice=False),
                axis=alt.Axis(values=ts, format=",d")),
        y=alt.Y("fraction:Q", title="share of restarts that fit the training set",
                scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        color=alt.Color("network:N", sort=labels, legend=_legend(columns=len(labels) or 1),
                        scale=alt.Scale(domain=labels, range=[MODEL_COLORS.get(m, COLORS[2]) for m in models])),
        # where the two share a point (both fit everything at short T), the dashes and shapes keep both in sight
        strokeDash=alt.StrokeDash("network:N", sort=labels, legend=_legend(columns=len(labels) or 1),
                                  scale=alt.Scale(domain=labels, range=[MODEL_DASHES.get(m, [1, 0]) for m in models])),
        shape=alt.Shape("network:N", sort=labels, legend=_legend(columns=len(labels) or 1),
                        scale=alt.Scale(domain=labels, range=[MODEL_SHAPES.get(m, "circle") for m in models])),
        tooltip=["network:N", alt.Tooltip("seq_len:Q", title="T"), alt.Tooltip("fit:Q", title="restarts that fit"),
                 alt.Tooltip("restarts:Q", title="restarts"), alt.Tooltip("fraction:Q", title="share", format=".0%"),
                 alt.Tooltip("median_loss:Q", title="median final train loss", format=".3g")],
    ).properties(title=alt.TitleParams(title, subtitle=subtitle), height=HEIGHT)
