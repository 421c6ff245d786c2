"""AppTest for the Long-term dependencies page: repeated multiplication (chain) and the gradient through time of
recurrent runs (through_time). On the defaults (the page's chain settings; the RNN and LSTM runs its links train)
every claim the page checks holds; a bad input gets one clear message, never a traceback."""

import json
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core.model import records
from core.model.config import TrainConfig
from core.train.run import Run
from ui.memory_view import LINK_SETTINGS

pytestmark = pytest.mark.usefixtures("app_test_pages")
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _link_config(model: str) -> TrainConfig:
    """The settings of the page's suggested Train link for the model (its other settings the Train defaults)."""
    fields = dict(pair.split("=") for pair in LINK_SETTINGS.format(model=model).split("&"))
    return TrainConfig(dataset=fields["dataset"], model=fields["model"], hidden=(int(fields["hidden"]),),
                       seq_len=int(fields["seq_len"]), optimizer=fields["optimizer"], lr=float(fields["lr"]),
                       device="cpu")


def _record(config: TrainConfig, number: int) -> records.RunRecord:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = Run(config)
        run.train()
    finally:
        torch.set_num_threads(previous)
    return records.from_run(run, records.short_name(config, number))


@pytest.fixture(scope="module")
def recurrent_runs() -> dict:
    """The runs of the page's two links: an RNN and an LSTM on the adding problem, T = 20 (about 10 s each)."""
    out = {}
    for number, model in ((2, "lstm"), (1, "rnn")):
        record = _record(_link_config(model), number)
        out[record.name] = record
    return out


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


def _page(view: str, runs: dict | None = None, state: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    if runs is not None:
        at.session_state["run_records"] = runs
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.session_state["mem_view"] = view
    at.switch_page("pages/memory.py")
    return at.run()


def _specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def _claims(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown if "claims, checked on" in m.value)


def _holds(at: AppTest, count: int) -> None:
    text = _claims(at)
    assert text.count("**holds**") == count and "**fails**" not in text, text
    assert not at.warning


def test_the_page_is_in_the_menu_and_on_home():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not _errors(at)
    assert "memory" in " ".join(str(el.proto) for el in at.sidebar.get("page_link"))
    assert any("| Long-term dependencies |" in m.value for m in at.markdown)


def test_chain_view_on_its_defaults_draws_both_charts_and_its_claims_hold():
    at = _page("chain")
    assert not _errors(at)
    assert at.title[0].value == "Long-term dependencies"
    titles = " ".join(json.dumps(s, ensure_ascii=False) for s in _specs(at))
    assert len(_specs(at)) == 2 and "Forward: h_t = W h_(t−1)" in titles and "Backward" in titles
    assert "q1: λ = 0.9" in titles and "q3: λ = 1.1" in titles
    _holds(at, 4)
    caption = " ".join(c.value for c in at.caption)
    assert "|λ| < 1 vanish, those with |λ| > 1 explode" in caption and "leave their dashed line" not in caption
    assert not {"dataset", "batch_size"} & {w.key for w in at.sidebar.selectbox}  # no training settings here


def test_chain_view_says_when_rounding_swamps_a_small_component():
    at = _page("chain", state={"mem_eigs": "0.5, 1.5", "mem_T": 300})
    assert not at.exception
    caption = " ".join(c.value for c in at.caption)
    assert "leave their dashed line" in caption
    assert "**holds**" in _claims(at)  # the closed form, relative to ‖h_t‖, still holds


@pytest.mark.parametrize(("text", "message"), [
    ("0.9, abc", "'abc' is not one"),
    (" , ", "at least one number"),
    ("0.9, 7", "between −3 and 3"),
    ("nan", "between −3 and 3"),
    (",".join(["0.5"] * 10), "at most 9"),
])
def test_chain_view_bad_input_gets_one_clear_message(text, message):
    at = _page("chain", state={"mem_eigs": text})
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value, [e.value for e in at.error]
    assert not at.get("vega_lite_chart")


def test_through_time_without_runs_links_to_the_train_page():
    at = _page("through_time", runs={})
    assert not _errors(at)
    assert "No recurrent run" in " ".join(i.value for i in at.info)
    links = [str(el.proto) for el in at.main.get("page_link")]
    for model in ("rnn", "lstm"):
        assert any(f"?{LINK_SETTINGS.format(model=model)}" in link for link in links), links


def test_through_time_on_the_links_runs_draws_both_charts_and_its_claims_hold(recurrent_runs):
    at = _page("through_time", recurrent_runs)
    assert not _errors(at)
    specs = _specs(at)
    assert len(specs) == 2
    titles = " ".join(json.dumps(s, ensure_ascii=False) for s in specs)
    assert "RNN against LSTM" in titles and "‖∂J/∂h_t‖" in titles
    _holds(at, 2)
    for name in recurrent_runs:
        at2 = _page("through_time", recurrent_runs, state={"mem_run": name})
        assert not _errors(at2)
        _holds(at2, 2)


def test_presenter_mode_draws_the_page():
    at = _page("chain", state={"present": True})
    assert not _errors(at)
    assert all(s["config"]["legend"]["orient"] == "bottom" for s in _specs(at))
