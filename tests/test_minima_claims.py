"""The Minima page's claim measures on tables whose answers are counted by hand, and the presets' evidence pieces
against the functions they wrap."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from core import claims, presets
from core.claims import Claim, Evidence
from core.model.config import TrainConfig
from core.train import restarts

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _sweep() -> pd.DataFrame:
    """Width 0: 3 restarts, none fit, losses 0.5 ± 1e-6; width 1: 1 of 3 fits; width 4: 3 of 3 (a fall at width 2)."""
    rows = [(0, s, 0.5 + 1e-6 * s, 0.3, False) for s in range(3)]
    rows += [(1, 0, 0.01, 0.0, True), (1, 1, 0.2, 0.1, False), (1, 2, 0.3, 0.2, False)]
    rows += [(2, s, 0.4, 0.2, False) for s in range(3)]
    rows += [(4, s, 0.001 * (s + 1), 0.0, True) for s in range(3)]
    return pd.DataFrame(rows, columns=restarts.COLUMNS)


def test_fit_and_loss_measures_count_what_the_table_holds():
    ev = Evidence(tables={"sweep": _sweep()})
    assert claims.fit_share(ev, "sweep", 1) == pytest.approx(1 / 3)
    assert claims.fit_share(ev, "sweep") == pytest.approx(4 / 12)
    assert math.isnan(claims.fit_share(ev, "sweep", 8))
    assert claims.fit_share_drop(ev, "sweep") == pytest.approx(1 / 3)  # 1/3 at width 1, then 0 at width 2
    assert claims.loss_spread(ev, "sweep", 0) == pytest.approx(2e-6)
    assert claims.loss_gap(ev, "sweep") == pytest.approx(0.2 / 0.01)  # lowest stuck 0.2, highest fitting 0.01
    only_fit = Evidence(tables={"sweep": _sweep().query("width == 4")})
    assert math.isnan(claims.loss_gap(only_fit, "sweep"))
    verdicts = claims.check([Claim("falls", "fit_share_drop", "<=", 0.0, ("sweep",))], ev)
    assert not verdicts[0].holds


def test_barrier_and_rescale_measures():
    barriers = pd.DataFrame({"width": [4, 4, 4, 64, 64, 64], "barrier_before": [1.0, 0.5, 0.9, 0.3, 0.2, 0.4],
                             "barrier_after": [0.4, 0.6, 0.2, 0.01, 0.03, 0.02]})
    ev = Evidence(tables={"barriers": barriers})
    assert claims.aligned_minus_before(ev) == pytest.approx(max(0.4 - 0.9, 0.02 - 0.3))  # medians per width
    assert claims.aligned_shrink(ev) == pytest.approx(0.02 / 0.4)
    assert claims.aligned_shrink(ev, "barrier_before") == pytest.approx(0.3 / 0.9)
    table = pd.DataFrame({"a": [0.1, 1.0, 10.0], "max_output_difference": [1e-6, 0.0, 3e-6], "norm": [9.0, 3.0, 6.0],
                          "lambda_max": [40.0, 2.0, 10.0]})
    ev = Evidence(tables={"rescale": table}, numbers={"barrier": 0.3})
    assert claims.rescale_ratio(ev, 0.1, "lambda_max") == 20.0 and claims.rescale_ratio(ev, 10.0, "norm") == 2.0
    assert claims.rescale_gap(ev) == 3e-6
    assert claims.number(ev, "barrier") == 0.3 and math.isnan(claims.number(ev, "missing"))


def test_the_minima_presets_are_consistent():
    for name in ("minima-copies", "minima-aligned", "minima-restarts"):
        p = presets.get(name)
        assert p.page == "minima" and p.caption.endswith(".") and p.view["mn_view"] in ("copies", "aligned", "restarts")
        assert all(c.measure in claims.MEASURES and c.op in claims.OPS for c in p.claims)
    view = presets.get("minima-restarts").view
    config = presets.view_config(view)  # the sidebar shows exactly the card's network
    assert config == TrainConfig(**presets.XOR_NET) and view["hidden"] == "4"
    assert presets.sweep_config("xor", "relu") == config  # the sweep's width 4 is the card's network
    for dataset in presets.RESTART_SETS:
        assert all(c.measure in claims.MEASURES for c in claims.sweep_claims(dataset))


def test_restart_table_is_the_restarts_result_with_the_threshold_applied():
    config = TrainConfig(**{**presets.XOR_NET, "steps": 60})
    result = restarts.train_restarts(config, [3, 4, 5])
    table = presets.restart_table(result, 0.25)
    assert table["seed"].tolist() == [3, 4, 5]
    torch.testing.assert_close(torch.tensor(table["final_train_loss"].to_numpy()), result.train_loss)
    best = float(result.train_error.min())  # the margin counts from the best of these restarts
    assert table["fits"].tolist() == (result.train_error <= best + 0.25 + 1e-9).tolist()
    assert not table["diverged"].any()
