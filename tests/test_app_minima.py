"""AppTest for the Minima page: a run's permuted and rescaled copies, two runs before and after weight matching with
the barrier against width, and random restarts (kept as runs) with the share that fits against width."""

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core import presets
from core.model import records
from core.model.config import TrainConfig
from core.train import restarts
from core.train.run import Run
from ui import minima_view
from ui.sidebar import widget_values

pytestmark = pytest.mark.usefixtures("app_test_pages")
APP = str(Path(__file__).resolve().parents[1] / "app.py")
RELU = TrainConfig(dataset="moons", n_samples=300, hidden=(16, 16), activation="relu", steps=300, device="cpu")


def _record(config: TrainConfig, number: int) -> records.RunRecord:
    run = Run(config)
    run.train()
    return records.from_run(run, records.short_name(config, number))


@pytest.fixture(scope="module")
def two():
    out = [_record(RELU.replace(seed=seed), seed + 1) for seed in (0, 1)]
    return {r.name: r for r in out}


@pytest.fixture
def small_sweeps(monkeypatch):
    """The sweeps' widths and training cut down to a second or two, trained without waiting for a button however busy
    the machine is."""
    monkeypatch.setattr(minima_view, "AUTO_SECONDS", float("inf"))
    monkeypatch.setattr(presets, "BARRIER_WIDTHS", (4, 16))
    monkeypatch.setitem(presets.BARRIER_SETS, "moons", {**presets.BARRIER_SETS["moons"], "n_samples": 100,
                                                        "steps": 150})
    monkeypatch.setattr(presets, "RESTART_WIDTHS", (0, 1, 4, 32))


def _page(runs: dict, view: str | None = None, sidebar: TrainConfig | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    at.session_state["run_records"] = runs
    for key, value in (widget_values(sidebar).items() if sidebar else ()):
        at.session_state[key] = value
    if view:
        at.session_state["mn_view"] = view
    at.switch_page("pages/minima.py")
    return at.run()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _titles(at: AppTest) -> str:
    return " ".join(str(c.proto.spec) for c in at.get("vega_lite_chart"))


def test_without_runs_the_page_explains():
    at = _page({})
    assert not at.exception and any("No runs yet" in i.value for i in at.info)


def test_a_permuted_and_a_rescaled_copy_are_drawn_with_their_numbers(two):
    at = _page(two)
    assert not at.exception and not at.error
    m = _metrics(at)
    assert float(m["Outputs differ by"]) < 1e-4 and float(m["Distance ‖θ − θ_perm‖"]) > 1
    assert float(m["Rescaled outputs differ by"]) < 1e-4
    sharper = next(x for x in at.metric if x.label == "λ_max at a = 10").delta  # "×23.7 the run's"
    assert float(sharper.split("×")[1].split()[0]) > 2  # same function, another sharpness
    assert "permuted copy" in _titles(at) and "Rescaled copies" in _titles(at)


def test_a_tanh_run_says_why_rescaling_does_not_apply():
    tanh = _record(RELU.replace(activation="tanh", steps=20), 1)
    at = _page({tanh.name: tanh})
    assert not at.exception and any("tanh(a·z) ≠ a·tanh(z)" in i.value for i in at.info)


def test_two_runs_aligned_and_the_barrier_against_width(two, small_sweeps):
    at = _page(two, view="aligned")
    assert not at.exception and not at.error
    m = _metrics(at)
    assert float(m["Barrier after"]) <= float(m["Barrier before"]) and abs(float(m["B's loss changed by"])) < 1e-5
    assert "before and after matching" in _titles(at) and "against width" in _titles(at)
    assert any("checked on the sweep drawn above" in md.value for md in at.markdown)
    assert any("Measured here: after matching, the median is" in c.value for c in at.caption)


def test_restarts_of_the_sidebars_network_and_one_kept_as_a_run(small_sweeps, drain_queue):
    config = TrainConfig(**{**presets.XOR_NET, "steps": 150})
    at = _page({}, view="restarts", sidebar=config)
    assert not at.exception and not at.error
    assert _metrics(at)["Restarts that fit"].endswith("of 16")
    assert "Final training loss of 16 restarts" in _titles(at) and "Share of restarts that fit" in _titles(at)
    at.selectbox(key="mn_restarts_pick").set_value(5)
    at.button(key="mn_restarts_keep").click().run()
    assert any("Queued" in s.value for s in at.success)
    drain_queue(at)
    kept = at.session_state["run_records"]
    (name,) = [n for n in kept if n.endswith("seed 5")]
    assert kept[name].config == config.replace(seed=5)
    expected = restarts.train_restarts(config, [5]).theta[0]  # the restart this run trained again
    torch.testing.assert_close(kept[name].theta_final, expected, rtol=0, atol=1e-5)


def test_the_restarts_card_trains_its_sweeps_and_its_claims_hold(small_sweeps):
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["preset"] = "minima-restarts"
    at.run()
    at.switch_page("pages/minima.py").run()
    at.run()  # after the preset's rerun
    assert not at.exception and not at.error
    assert at.segmented_control(key="mn_view").value == "restarts"
    assert any("Random restarts: which fit, by width" in s.value for s in at.success)
    checked = "\n".join(md.value for md in at.markdown if "claims, checked on" in md.value)
    assert checked.count("**holds**") >= 8 and "**fails**" not in checked, checked
