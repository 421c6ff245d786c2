"""The Long-term dependencies page's sweep view (?mem_view=sweep): the share of restarts that fit against T for the
RNN and the LSTM. Its claims on synthetic frames (holds and fails), the chart's data against a naive count over
memory_sweep's rows, the input validation, and AppTests on small settings and on bad URL values."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import claims_memory as mc
from core.charts import memory as charts
from core.claims import Evidence
from core.train import restarts
from ui import address_problem
from ui import memory_sweep_view as view

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SMALL = {"mem_sw_T": "2,3", "mem_sw_n": "3", "mem_sw_steps": "20", "mem_sw_H": "4"}  # about a second


def _frame(fits: dict[tuple[str, int], list[bool]]) -> pd.DataFrame:
    """memory_sweep-like rows (with a model column) from {(model, T): [fits per seed]}."""
    rows = [{"model": m, "seq_len": t, "seed": s, "final_train_loss": 0.01 if f else 0.2,
             "final_train_error": 0.0 if f else 0.5, "fits": f}
            for (m, t), flags in fits.items() for s, f in enumerate(flags)]
    return pd.DataFrame(rows, columns=["model", *restarts.MEMORY_COLUMNS])


def _verdicts(frame: pd.DataFrame, t_short: int = 2, t_long: int = 16):
    return mc.check(mc.sweep_claims(t_short, t_long), Evidence(tables={"sweep": frame}))


# ---- claims ----------------------------------------------------------------------------------------------------
def test_the_claims_hold_when_the_rnn_falls_with_t_and_the_lstm_keeps_fitting():
    frame = _frame({("rnn", 2): [True] * 4, ("rnn", 8): [True, False, False, False], ("rnn", 16): [False] * 4,
                    ("lstm", 2): [True] * 4, ("lstm", 8): [True] * 4, ("lstm", 16): [True, True, True, False]})
    verdicts = _verdicts(frame)
    assert [v.holds for v in verdicts] == [True, True, True, True]
    assert [v.value for v in verdicts] == [1.0, 1.0, 0.75, 0.75]
    assert "T = 2" in verdicts[0].claim.text and "T = 16" in verdicts[3].claim.text


def test_the_claims_fail_when_the_rnn_keeps_fitting_as_the_lstm():
    frame = _frame({("rnn", 2): [True, False, False, False], ("rnn", 16): [True, False, False, False],
                    ("lstm", 2): [True] * 4, ("lstm", 16): [True, False, False, False]})
    verdicts = _verdicts(frame)
    assert [v.holds for v in verdicts] == [False, False, False, False]
    assert [v.value for v in verdicts] == [0.25, 0.0, 0.25, 0.0]


def test_a_sweep_that_cannot_be_compared_fails_its_claims_rather_than_raising():
    one_t = _frame({("rnn", 4): [True, True], ("lstm", 4): [True, True]})
    assert [v.holds for v in _verdicts(one_t, 4, 4)] == [True, False, True, False]  # a drop needs two lengths
    assert mc.sweep_drop(Evidence(tables={"sweep": one_t}), "rnn") != mc.sweep_drop(
        Evidence(tables={"sweep": one_t}), "rnn")  # NaN
    other_ts = _frame({("rnn", 2): [True], ("rnn", 8): [False], ("lstm", 2): [True], ("lstm", 16): [True]})
    gap = mc.sweep_gap(Evidence(tables={"sweep": other_ts}))
    assert gap != gap and not _verdicts(other_ts)[3].holds
    no_lstm = _frame({("rnn", 2): [True], ("rnn", 8): [False]})
    assert [v.holds for v in _verdicts(no_lstm)] == [True, True, False, False]


# ---- the chart's data ------------------------------------------------------------------------------------------
def test_sweep_fractions_count_the_fitting_rows_and_the_chart_draws_them():
    frame = _frame({("rnn", 2): [True, True, False], ("rnn", 5): [False] * 3, ("lstm", 2): [True] * 3,
                    ("lstm", 5): [True, False, True]})
    shares = charts.sweep_fractions(frame)
    assert shares[["model", "seq_len", "restarts", "fit"]].values.tolist() == [
        ["rnn", 2, 3, 2], ["rnn", 5, 3, 0], ["lstm", 2, 3, 3], ["lstm", 5, 3, 2]]
    assert shares["fraction"].tolist() == pytest.approx([2 / 3, 0, 1, 2 / 3])
    assert shares["network"].tolist() == ["RNN (tanh)"] * 2 + ["LSTM"] * 2
    spec = charts.sweep_chart(shares, "title", "sub").to_dict()
    enc = spec["encoding"]
    assert enc["x"]["field"] == "seq_len" and "sequence length T" in enc["x"]["title"]
    assert enc["x"]["axis"]["values"] == [2, 5]
    assert enc["y"]["scale"]["domain"] == [0, 1] and enc["y"]["axis"]["format"] == "%"
    assert "share of restarts that fit" in enc["y"]["title"]
    assert enc["color"]["legend"]["orient"] == "bottom" and enc["color"]["scale"]["domain"] == ["RNN (tanh)", "LSTM"]
    assert enc["shape"]["scale"]["range"] == ["circle", "square"]  # both stay visible where the lines coincide
    data = pd.DataFrame(next(iter(spec["datasets"].values())))
    assert data[["network", "seq_len", "fraction"]].values.tolist() == [
        ["RNN (tanh)", 2, 2 / 3], ["RNN (tanh)", 5, 0.0], ["LSTM", 2, 1.0], ["LSTM", 5, 2 / 3]]


@pytest.mark.usefixtures("one_torch_thread")
def test_run_sweep_is_memory_sweep_per_model_and_its_shares_a_naive_count():
    configs = {m: view.sweep_config("parity", m, 4, 0.03, 15) for m in view.MODELS}
    frame = view.run_sweep(configs, [2, 3], [0, 1, 2])
    assert list(frame.columns) == ["model", *restarts.MEMORY_COLUMNS] and len(frame) == 2 * 2 * 3
    direct = restarts.memory_sweep(configs["lstm"], [2, 3], [0, 1, 2])
    pd.testing.assert_frame_equal(frame[frame["model"] == "lstm"].drop(columns="model").reset_index(drop=True),
                                  direct)
    shares = charts.sweep_fractions(frame)
    for row in shares.itertuples():
        count = 0
        for r in frame.itertuples():  # naive: one row at a time
            if r.model == row.model and r.seq_len == row.seq_len and r.final_train_error <= 0.0:
                count += 1
        assert row.fit == count and row.fraction == count / 3


@pytest.mark.usefixtures("one_torch_thread")
def test_the_estimate_is_a_positive_number_of_seconds_that_grows_with_the_steps():
    short = {m: view.sweep_config("adding", m, 4, 0.03, 10) for m in view.MODELS}
    long = {m: c.replace(steps=5000) for m, c in short.items()}
    a, b = view.estimate_seconds(short, [2, 4], [0, 1]), view.estimate_seconds(long, [2, 4], [0, 1])
    assert 0 < a < b < float("inf")


# ---- validation --------------------------------------------------------------------------------------------------
def test_parse_seq_lens_sorts_valid_lengths():
    assert view.parse_seq_lens(" 16, 2;8 , 4") == [2, 4, 8, 16]
    assert view.parse_seq_lens(view.DEFAULT_SEQ_LENS) == sorted(view.parse_seq_lens(view.DEFAULT_SEQ_LENS))


BAD_LENGTHS = [("", "at least two"), ("5", "at least two"), ("2, abc", "'abc' is not one"), ("2, -4", "'-4'"),
               ("2, 4.5", "'4.5'"), ("1, 4", "between 2 and 200; 1 does not"), ("2, 500", "500 does not"),
               ("2, 4, 2", "2 is listed twice"), ("2,3,4,5,6,7,8", "at most 6")]


@pytest.mark.parametrize(("text", "message"), BAD_LENGTHS)
def test_parse_seq_lens_refuses_with_one_sentence(text, message):
    with pytest.raises(ValueError, match=None) as info:
        view.parse_seq_lens(text)
    assert message in str(info.value) and str(info.value).endswith(".")


# ---- the page ----------------------------------------------------------------------------------------------------
def _page(query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()  # once first, as tests/test_app_memory.py
    for key, value in {"mem_view": "sweep", **query}.items():
        at.query_params[key] = value
    at.switch_page("pages/memory.py")
    return at.run()


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


def _claims(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown if "claims, checked on" in m.value)


@pytest.mark.usefixtures("app_test_pages")
def test_the_sweep_view_on_small_settings_draws_the_chart_and_checks_its_claims(monkeypatch):
    calls = []
    original = view.run_sweep
    monkeypatch.setattr(view, "run_sweep", lambda *a: calls.append(a) or original(*a))
    at = _page({**SMALL, "mem_sw_task": "parity"})
    assert not _errors(at)
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(specs) == 1 and "Restarts that solve parity" in json.dumps(specs[0], ensure_ascii=False)
    text = _claims(at)
    assert text.count("**holds**") + text.count("**fails**") == 4, text
    assert "T = 2" in text and "T = 3" in text
    assert any("restarts that fit at T = 2 → T = 3" in m.label for m in at.metric)
    assert "classifies every training sequence" in " ".join(c.value for c in at.caption)
    assert len(calls) == 1
    at.run()  # a rerun with the same settings is served from the session's cache
    assert len(calls) == 1 and not _errors(at)
    cached = at.session_state[view.CACHE]
    assert list(cached) == [("parity", (2, 3), (0, 1, 2), 20, 4, 0.03)]


@pytest.mark.usefixtures("app_test_pages")
@pytest.mark.parametrize(("text", "message"), [("abc", "at least two"), ("2, x", "'x' is not one"),
                                               ("2, 900", "900 does not")])
def test_bad_lengths_in_the_url_get_one_message_and_nothing_is_computed(text, message, monkeypatch):
    monkeypatch.setattr(view, "estimate_seconds", lambda *a: pytest.fail("estimated a refused sweep"))
    at = _page({**SMALL, "mem_sw_T": text})
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value, [e.value for e in at.error]
    assert not at.get("vega_lite_chart") and not _claims(at)


@pytest.mark.usefixtures("app_test_pages")
@pytest.mark.parametrize(("query", "message"), [
    ({"mem_sw_task": "nosuchtask"}, "Task = 'nosuchtask', which is not one of adding, parity, copy"),
    ({"mem_sw_n": "abc"}, "Restarts per T = 'abc', which is not a number from 1 to 64"),
    ({"mem_sw_steps": "-5"}, "Steps = '-5'"),
    ({"mem_sw_lr": "nan"}, "Learning rate ε = 'nan'"),
    ({"mem_sw_H": "99999"}, "State size H = '99999', which is not a number from 2 to 64"),
    ({"mem_sw_seed": "2.5"}, "First seed s = '2.5'"),
])
def test_bad_values_of_other_url_keys_get_one_message_and_nothing_is_computed(query, message, monkeypatch):
    monkeypatch.setattr(view, "estimate_seconds", lambda *a: pytest.fail("estimated a refused sweep"))
    at = _page({**SMALL, **query})
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value, [e.value for e in at.error]
    assert not at.get("vega_lite_chart")
    assert at.selectbox(key="mem_sw_task").value in view.TASKS


@pytest.mark.usefixtures("app_test_pages")
def test_good_url_values_are_taken_as_they_are(monkeypatch):
    seen = []
    monkeypatch.setattr(view, "estimate_seconds", lambda *a: 0.0)
    monkeypatch.setattr(view, "run_sweep", lambda *a: seen.append(a) or _frame(
        {("rnn", 2): [True], ("rnn", 3): [False], ("lstm", 2): [True], ("lstm", 3): [True]}))
    at = _page({**SMALL, "mem_sw_task": "copy", "mem_sw_lr": "0.01", "mem_sw_seed": "5", "mem_sw_steps": "400"})
    assert not _errors(at)
    (configs, seq_lens, seeds), = seen
    assert seq_lens == [2, 3] and seeds == [5, 6, 7]
    assert {(c.dataset, c.model, c.hidden, c.lr, c.steps) for c in configs.values()} == {
        ("copy", m, (4,), 0.01, 400) for m in view.MODELS}
    assert "**holds**" in _claims(at) and not at.warning  # the stand-in sweep's claims all hold


def test_address_problem_accepts_what_the_widget_shows():
    assert address_problem(None, 8, "Restarts", 1, 64) is None
    assert address_problem("0.030", 0.03, "ε", 0.0001, 1) is None
    assert "'x'" in address_problem("x", 8, "Restarts", 1, 64)


@pytest.mark.usefixtures("app_test_pages")
def test_a_long_sweep_waits_for_its_button_and_the_estimate_is_taken_once(monkeypatch):
    estimates, seen = [], []
    monkeypatch.setattr(view, "estimate_seconds", lambda *a: estimates.append(a) or 1000.0)
    monkeypatch.setattr(view, "run_sweep", lambda *a: seen.append(a) or _frame(
        {("rnn", 2): [True], ("rnn", 3): [False], ("lstm", 2): [True], ("lstm", 3): [True]}))
    monkeypatch.setattr(view, "with_progress", lambda work, seconds, what: work())
    at = _page(SMALL)
    assert not _errors(at) and not seen and not at.get("vega_lite_chart")
    assert "waits for the button" in " ".join(c.value for c in at.caption)
    at.button(key="mem_sw_go").click().run()
    assert not _errors(at) and len(seen) == 1 and len(estimates) == 1
    assert len(at.get("vega_lite_chart")) == 1
