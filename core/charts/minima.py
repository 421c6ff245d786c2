"""Charts of the Minima page: rescaled copies against a, random restarts' final losses, the share that fits
against width, and the aligned barrier against width. Pure functions from frames to Altair specs."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

HEIGHT = 380  # all of a chart in Streamlit: title, plot, axes and legend (a legend below costs about 100 px, one on
# the right none). Short y titles (or two lines): one longer than the plot makes Streamlit shrink the plot to fit it.
OUTCOMES = alt.Scale(domain=["fits", "does not fit"], range=["#2ca02c", "#d62728"])
BEFORE_AFTER = alt.Scale(domain=["before matching", "after matching"], range=["#ff7f0e", "#1f77b4"])


def width_label(width: int) -> str:
    return "0 (logistic)" if width == 0 else str(width)


def rescale_chart(table: pd.DataFrame, a: float) -> alt.LayerChart:
    """λ_max and ‖θ‖ of the rescaled copies, each over the run's own value (a = 1), against a; log-log, with the
    chosen a marked. `table` is core.probes.symmetry.rescaled_table."""
    base = table.set_index("a").loc[1.0]
    parts = [pd.DataFrame({"a": table["a"], "quantity": label, "ratio": table[column] / base[column],
                           "value": table[column]})
             for column, label in (("lambda_max", "λ_max of the training loss"), ("norm", "‖θ‖"))]
    data = pd.concat(parts, ignore_index=True)
    log = alt.Scale(type="log")
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("a:Q", title="scale a (incoming weights × a, outgoing × 1/a; log scale)", scale=log),
        y=alt.Y("ratio:Q", title=["over the run's value (a = 1)", "log scale"], scale=log),
        color=alt.Color("quantity:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("a:Q", format="g"), "quantity:N", alt.Tooltip("value:Q", format=".4g"),
                 alt.Tooltip("ratio:Q", title="over a = 1", format=".3g")],
    )
    rule = alt.Chart(pd.DataFrame({"a": [a]})).mark_rule(strokeDash=[4, 4], color="gray").encode(
        x="a:Q", tooltip=[alt.Tooltip("a:Q", title="chosen a", format="g")])
    gap = float(table["max_output_difference"].max())
    title = alt.TitleParams("Rescaled copies: one function, many sharpnesses",
                            subtitle=f"Every copy's outputs differ from the run's by at most {gap:.1g}.")
    return (lines + rule).properties(title=title, height=HEIGHT)


def restarts_chart(frame: pd.DataFrame, bins: int = 24) -> alt.Chart:
    """How many restarts end at each final training loss (log-spaced bins), coloured by whether they fit."""
    loss = frame["final_train_loss"].to_numpy(dtype=float)
    finite = loss[np.isfinite(loss) & (loss > 0)]
    lo, hi = (finite.min(), finite.max()) if len(finite) else (1e-3, 1.0)
    if hi <= lo * 1.05:  # one loss for all (logistic regression): a narrow window around it
        lo, hi = lo / 1.05, hi * 1.05
    edges = np.geomspace(lo, hi * 1.0001, bins + 1)
    rows = []
    for outcome, part in (("fits", loss[frame["fits"].to_numpy()]), ("does not fit", loss[~frame["fits"].to_numpy()])):
        counts, _ = np.histogram(part, bins=edges)
        rows.append(pd.DataFrame({"lo": edges[:-1], "hi": edges[1:], "restarts": counts, "outcome": outcome}))
    data = pd.concat(rows, ignore_index=True)
    data = data[data["restarts"] > 0]
    return alt.Chart(data).mark_rect(stroke="white", strokeWidth=0.5).encode(
        x=alt.X("lo:Q", title="final training loss (mean cross-entropy, log scale)",
                scale=alt.Scale(type="log", nice=False)), x2="hi:Q",
        y=alt.Y("sum(restarts):Q", title="restarts", axis=alt.Axis(tickMinStep=1), stack=True),
        color=alt.Color("outcome:N", scale=OUTCOMES, title=None, legend=alt.Legend(orient="right")),
        tooltip=["outcome:N", alt.Tooltip("lo:Q", title="loss from", format=".3g"),
                 alt.Tooltip("hi:Q", title="to", format=".3g"), "restarts:Q"],
    ).properties(title=f"Final training loss of {len(frame)} restarts", height=HEIGHT - 60)


def fits_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """The share of restarts that fit, per width (bars, labelled k/N); width 0 is logistic regression."""
    grouped = frame.groupby("width", sort=True)["fits"]
    data = pd.DataFrame({"width": grouped.mean().index, "share": grouped.mean().to_numpy(),
                         "fit": grouped.sum().to_numpy().astype(int), "restarts": grouped.size().to_numpy()})
    data["label"] = data["width"].map(width_label)
    data["text"] = data["fit"].astype(str) + "/" + data["restarts"].astype(str)
    order = [width_label(w) for w in data["width"]]
    x = alt.X("label:N", title="hidden units per layer (width)", sort=order, axis=alt.Axis(labelAngle=0))
    bars = alt.Chart(data).mark_bar(color="#2ca02c").encode(
        x=x, y=alt.Y("share:Q", title="share of restarts that fit", scale=alt.Scale(domain=[0, 1]),
                     axis=alt.Axis(format=".0%")),
        tooltip=[alt.Tooltip("label:N", title="width"), alt.Tooltip("share:Q", format=".0%"), "fit:Q", "restarts:Q"])
    text = alt.Chart(data).mark_text(dy=-6, baseline="bottom").encode(x=x, y="share:Q", text="text:N")
    return (bars + text).properties(title="Share of restarts that fit the training set", height=HEIGHT)


def losses_chart(frame: pd.DataFrame) -> alt.Chart:
    """Every restart's final training loss against width (log scale, jittered), coloured by whether it fits."""
    widths = sorted(frame["width"].unique())
    data = frame.assign(label=frame["width"].map(width_label),
                        outcome=np.where(frame["fits"], "fits", "does not fit"),
                        x=frame["width"].map({w: k for k, w in enumerate(widths)})
                        + 0.6 * ((frame["seed"] * 0.6180339887) % 1.0 - 0.5))
    data = data[np.isfinite(data["final_train_loss"]) & (data["final_train_loss"] > 0)]
    labels = " : ".join(f"datum.value == {k} ? '{width_label(w)}'" for k, w in enumerate(widths))
    axis = alt.Axis(values=list(range(len(widths))), labelExpr=f"{labels} : ''", grid=False, labelAngle=0)
    return alt.Chart(data).mark_circle(size=28, opacity=0.7).encode(
        x=alt.X("x:Q", title="hidden units per layer (width)", axis=axis,
                scale=alt.Scale(domain=[-0.5, len(widths) - 0.5], nice=False, zero=False)),
        y=alt.Y("final_train_loss:Q", title=["final training loss", "log scale"], scale=alt.Scale(type="log")),
        color=alt.Color("outcome:N", scale=OUTCOMES, title=None, legend=alt.Legend(orient="right")),
        tooltip=[alt.Tooltip("label:N", title="width"), "seed:Q", alt.Tooltip("final_train_loss:Q", format=".4g"),
                 alt.Tooltip("final_train_error:Q", title="train error", format=".1%"), "outcome:N"],
    ).properties(title="Final training loss of every restart", height=HEIGHT)


def barrier_width_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """The barrier between two seeds' solutions before and after weight matching against width: one faint point
    per pair, the median per width joined by a line (core.probes.symmetry.barrier_width_sweep)."""
    parts = [pd.DataFrame({"width": frame["width"], "when": label, "barrier": frame[column],
                           "pair": "seeds " + frame["seed_a"].astype(str) + " and " + frame["seed_b"].astype(str)})
             for column, label in (("barrier_before", "before matching"), ("barrier_after", "after matching"))]
    data = pd.concat(parts, ignore_index=True)
    medians = data.groupby(["width", "when"], as_index=False)["barrier"].median()
    x = alt.X("width:Q", title="hidden units per layer (width, log scale)",
              scale=alt.Scale(type="log", base=2), axis=alt.Axis(values=sorted(frame["width"].unique().tolist())))
    color = alt.Color("when:N", scale=BEFORE_AFTER, title=None, legend=alt.Legend(orient="bottom"))
    y_title = ["barrier on the line", "train loss above the chord"]
    points = alt.Chart(data).mark_circle(size=30, opacity=0.35).encode(
        x=x, y=alt.Y("barrier:Q", title=y_title), color=color,
        tooltip=["width:Q", "pair:N", "when:N", alt.Tooltip("barrier:Q", format=".3g")])
    line = alt.Chart(medians).mark_line(point=True).encode(
        x=x, y="barrier:Q", color=color,
        tooltip=["width:Q", "when:N", alt.Tooltip("barrier:Q", title="median barrier", format=".3g")])
    return (points + line).properties(title="Barrier between two seeds' solutions against width", height=HEIGHT)
