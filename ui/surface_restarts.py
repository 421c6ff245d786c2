"""The Surfaces page's random restarts: N random starts with one optimizer, where each ends, and the histogram of
final values. Widget keys start with sf_r_."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.charts import surfaces as sc
from core.model.optim import OPTIMIZERS
from core.toys import landmarks as lm
from core.toys import race as rc
from core.toys import surfaces as sf
from ui.downloads import chart_downloads, csv_download
from ui.show import drawn_spec
from ui.surfaces_view import ERROR, URL, grid_for, surface_params


@st.cache_data(show_spinner="Running every restart…", max_entries=16)
def _restarts(name: str, condition: float, angle: float, runner: rc.Runner, n: int, steps: int,
              seed: int) -> pd.DataFrame:
    return rc.restarts(sf.make(name, condition, angle), runner, n, steps, seed)



def restarts_section(surface: sf.Surface) -> None:
    """N random starts with one optimizer: where each ends, and the histogram of final values."""
    if surface.name not in sf.MULTI_MINIMA:
        st.info("Random restarts tell most on surfaces with several minima: Rastrigin and Himmelblau.",
                icon=":material/info:")
    c = st.columns(6)
    kind = c[0].selectbox("Optimizer", list(OPTIMIZERS), key="sf_r_kind", **URL)
    hp = rc.default_hp(surface, kind)
    lr = c[1].number_input("lr", 0.0, 100.0, hp.lr, format="%g", key=f"sf_r_lr_{surface.name}_{kind}")
    momentum = c[2].number_input("momentum", 0.0, 0.999, hp.momentum, 0.05, key=f"sf_r_mom_{kind}")
    n = c[3].number_input("Starts N", 1, rc.MAX_RESTARTS, 50, 10, key="sf_r_n", **URL)
    steps = c[4].number_input("Steps", 1, 2000, surface.steps, 50, key=f"sf_r_steps_{surface.name}")
    seed = c[5].number_input("Seed", 0, 10**6, 0, key="sf_r_seed", **URL)
    try:
        runner = rc.Runner(kind, kind, hp._replace(lr=float(lr), momentum=float(momentum)))
        ends = _restarts(surface.name, *surface_params(), runner, int(n), int(steps), int(seed))
    except ValueError as exc:
        st.error(f"Fix this setting: {exc}", **ERROR)
        return
    _restart_metrics(surface, ends)
    left, right = st.columns([3, 2])
    chart = sc.restarts_chart(surface, grid_for(surface), ends, marks=lm.landmarks(surface))
    hist = sc.final_values_chart(ends)
    with left:
        st.vega_lite_chart(drawn_spec(chart), key="sf_r_map", width="stretch")
        st.caption("○ a random start, ● where it ended (colour: the known minimum it reached), ◇ known minima, "
                   "✚ saddles, △ maxima.")
        chart_downloads(chart, f"restarts_{surface.name}", key="sf_r_dl")
    with right:
        st.vega_lite_chart(drawn_spec(hist), key="sf_r_hist", width="stretch")
        chart_downloads(hist, f"restarts_final_{surface.name}", key="sf_r_hist_dl")
        counts = ends.groupby("end").size().rename("restarts").reset_index()
        st.dataframe(counts, hide_index=True, column_config={"end": "ended at (known minimum)"})
        csv_download(ends, "Restarts (CSV)", f"restarts_{surface.name}", "sf_r_csv")


def _restart_metrics(surface: sf.Surface, ends: pd.DataFrame) -> None:
    finite = ends["f"].notna()
    best = min(sf.value(surface, m) for m in surface.minima) if surface.minima else None
    a, b, c = st.columns(3)
    if best is not None:
        hit = int((ends.loc[finite, "f"] <= best + 1e-3).sum())
        a.metric("Reached the global minimum", f"{hit} of {len(ends)}", help=f"Final f within 0.001 of {best:.4g}.")
    b.metric("Best final f", f"{ends.loc[finite, 'f'].min():.4g}" if finite.any() else "—")
    stopped = int((ends["stopped"] != "").sum())
    c.metric("Stopped early", f"{stopped} of {len(ends)}", help="Diverged or left the map; see the CSV's `stopped`.")
