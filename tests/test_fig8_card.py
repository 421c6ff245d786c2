"""The Fig. 8 card: an LSTM on a toy sequence task (the paper's is Penn Treebank), listed in the gallery, opened on the
Interpolation page, whose caption's claims hold on its run; headless through `python -m core preset`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import presets
from core.cli.main import main
from core.model.config import RECURRENT_MODELS
from core.model.data import DATASETS

APP = str(Path(__file__).resolve().parents[1] / "app.py")
NAME = "fig8-lstm"


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


def test_the_card_is_an_lstm_on_a_sequence_toy_between_figs_6_and_9():
    card = presets.get(NAME)
    names = list(presets.PRESETS)
    assert names.index("fig6-cnn") < names.index(NAME) < names.index("fig9-deep-linear-init")
    (config,) = card.configs()
    assert config.model == "lstm" and config.model in RECURRENT_MODELS and len(config.hidden) == 1
    assert "seq_len" in DATASETS[config.dataset].options  # a sequence data set
    assert card.page == "interpolation" and card.view["ip_mode"] == "init-final" and card.view["ip_points"] == 101
    assert "Penn Treebank" in card.caption and "toy" in card.caption
    measures = [c.measure for c in card.claims]
    assert measures[0] == "line_metric" and card.claims[0].args == (0, "train", "monotone")
    assert "drop_share" in measures and "falls_past_end" in measures


def test_the_split_keeps_what_other_modules_read_from_core_presets():
    from core import presets_paper

    assert presets.Preset is presets_paper.Preset and presets.LSTM is presets_paper.LSTM
    for name in ("RELU", "MAXOUT", "SIGMOID", "CNN", "DIGITS", "FIG81", "LINE", "MODES", "ZOOMS", "BARRIER_SETS",
                 "RESTART_SETS", "XOR_NET", "MINIMA", "RESTART_WIDTHS", "BARRIER_WIDTHS", "get", "evidence",
                 "pairs_for", "grids", "monitor_evidence", "minima_evidence", "barrier_sweep", "restart_table",
                 "sweep_config", "view_config"):
        assert hasattr(presets, name), name
    assert all(p in presets.PRESETS.values() for p in presets_paper.FIGURE_CARDS)


@pytest.mark.usefixtures("one_torch_thread")  # 2 threads on 2 busy cores: the LSTM crawls (about 20x slower)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_claims_hold_for_three_seeds_through_the_command_line(seed, tmp_path):
    assert main(["preset", NAME, "--seed", str(seed), "--out", str(tmp_path)]) == 0
    verdicts = json.loads((tmp_path / "claims.json").read_text(encoding="utf-8"))
    assert len(verdicts) == len(presets.get(NAME).claims) and all(v["holds"] for v in verdicts), verdicts
    assert (tmp_path / "interpolation.csv").exists()


@pytest.mark.usefixtures("app_test_pages")
def test_home_lists_the_card_and_its_link_trains_the_run_and_shows_the_claims(drain_queue):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not _errors(at)
    assert f"preset={NAME}" in " ".join(str(el.proto) for el in at.get("page_link"))
    assert any("Fig. 8" in m.value and "LSTM" in m.value for m in at.markdown)

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["preset"] = NAME
    at.switch_page("pages/interpolation.py")
    at.run()
    drain_queue(at, timeout=120)
    assert not _errors(at)
    (record,) = at.session_state["run_records"].values()
    assert record.config.model == "lstm" and record.config.dataset == presets.LSTM["dataset"]
    assert any("Penn Treebank" in s.value for s in at.success)
    text = "\n".join(m.value for m in at.markdown if "claims, checked on" in m.value)
    assert text.count("**holds**") == len(presets.get(NAME).claims) and "**fails**" not in text, text
    assert at.text_input(key="hidden").value == "16" and at.selectbox(key="model").value == "lstm"


def test_the_solves_claim_names_the_loss_it_reads():
    """val_loss is the MSE on the adding task (a regression) and the cross-entropy on copy or parity: the claim says
    which, never an MSE for a cross-entropy (an LSTM at chance on parity ends near ln 2 = 0.69)."""
    import pandas as pd

    from core import claims
    from core.model import records

    (claim,) = [c for c in presets.get(NAME).claims if c.args == (0, "val_loss")]
    record = records.from_arrays("parity", None, "done", [0], [[0.0]], pd.DataFrame({"val_loss": [0.70]}),
                                 pd.DataFrame())
    (on_parity,) = claims.check([claim], claims.Evidence(records=[record]))  # a classification
    assert "cross-entropy" in on_parity.claim.text and "MSE" not in on_parity.claim.text and not on_parity.holds
    (on_adding,) = claims.check([claim], claims.Evidence(records=[record], task="regression"))
    assert "MSE" in on_adding.claim.text and "cross-entropy" not in on_adding.claim.text
