"""The cliff view of the Long-term dependencies page: its claims on synthetic frames, its chart data, the probe it
draws (core.probes.memory.cliff_probe) against torch.optim.SGD with clip_grad_norm_, its input checks, and the page
itself (AppTest): on the defaults every claim holds; a bad address value gets one sentence and nothing computed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from core import claims_cliff as cc
from core.charts import cliff as charts
from core.model import networks
from core.model.build import model_and_data
from core.model.config import from_dict
from core.probes import memory
from ui import address_problem
from ui import memory_cliff_view as view

pytestmark = pytest.mark.usefixtures("one_torch_thread")
APP = str(Path(__file__).resolve().parents[1] / "app.py")
CHANCE = math.log(4)


def _walk(losses) -> pd.DataFrame:
    n = len(losses)
    return pd.DataFrame({"step": range(n), "loss": losses, "grad_norm": 1.0, "step_length": [np.nan, *[0.5] * (n - 1)],
                         "distance": np.arange(n) * 0.5})


def _evidence(line_loss, plain, clipped, theta_norm=10.0) -> cc.Evidence:
    s = np.linspace(0, 0.1, len(line_loss))
    line = pd.DataFrame({"s": s, "loss": line_loss, "error": 0.0, "grad_norm": 1.0})
    return cc.Evidence(tables={"line": line, "plain": _walk(plain), "clipped": _walk(clipped)},
                       numbers={"theta_norm": theta_norm, "chance": CHANCE})


def _naive_jump(ev: cc.Evidence, share: float) -> float:
    line = ev.tables["line"]
    s, loss, width, best = line.s.to_numpy(), line.loss.to_numpy(), share * ev.numbers["theta_norm"], 0.0
    for i in range(len(s)):
        for j in range(len(s)):
            if s[i] <= s[j] <= s[i] + width:
                best = max(best, loss[j] / loss[i], loss[i] / loss[j])
    return best


def test_the_claims_hold_on_a_cliff_and_fail_without_one():
    cliff = [0.001] * 10 + [0.5] + [1.0] * 10  # s steps 0.005; the window 0.1% of ‖θ‖ = 10 spans two: 0.001 → 1
    ev = _evidence(cliff, plain=[0.4, 5.0, 3.0, 2.0], clipped=[0.4, 0.1, 0.01, 0.005])
    got = cc.check(cc.cliff_claims(CHANCE, 3, 1.0), ev)
    assert [v.holds for v in got] == [True] * 4, got
    assert [round(v.value, 6) for v in got] == [1000.0, 5.0, 0.0125, 400.0]
    assert cc.steepest_jump(ev, 0.001) == pytest.approx(_naive_jump(ev, 0.001))
    smooth = _evidence(np.linspace(0.001, 0.002, 21), plain=[0.4, 0.3, 0.2, 0.1], clipped=[0.4, 0.3, 0.2, 0.2])
    got = cc.check(cc.cliff_claims(CHANCE, 3, 1.0), smooth)
    assert [v.holds for v in got] == [False] * 4, got
    nan = _evidence([0.001, np.nan, 1.0], plain=[0.4], clipped=[0.0])
    assert all(not v.holds and math.isnan(v.value) for v in cc.check(cc.cliff_claims(CHANCE, 0, 1.0), nan))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_steepest_jump_equals_a_naive_double_loop(seed):
    gen = np.random.default_rng(seed)
    ev = _evidence(np.exp(gen.normal(size=40) * 3), [1.0, 1.0], [1.0, 1.0], theta_norm=gen.uniform(1, 30))
    for share in (0.0001, 0.001, 0.01, 1.0):
        assert cc.steepest_jump(ev, share) == pytest.approx(_naive_jump(ev, share), rel=1e-12)


def test_chart_data_and_specs():
    plain, clipped = _walk([0.4, 5.0, 3.0]), _walk([0.4, 0.1, 0.01])
    marks = charts.landing_marks(plain, clipped, CHANCE, 0.01, 1.0)
    assert marks.loss.tolist() == [CHANCE, 5.0, 0.1] and marks.length.iloc[1:].tolist() == [0.5, 0.5]
    assert "lands at J = 5" in marks.label[1] and marks.color.tolist()[1:] == [charts.PLAIN_COLOR, charts.CLIPPED_COLOR]
    long = charts.descent_long(plain, clipped, 0.01, 1.0)
    assert list(long.columns) == ["walk", "step", "loss", "step_length", "distance"] and len(long) == 6
    assert long.walk.tolist() == [charts.walk_names(0.01, 1.0)[0]] * 3 + [charts.walk_names(0.01, 1.0)[1]] * 3
    line = pd.DataFrame({"s": [0.0, 0.05, 0.1], "loss": [1e-3, 0.0, 2.0], "error": 0.0, "grad_norm": [1.0, 9.0, 2.0]})
    spec = charts.line_chart(line, 0.05, marks, 10.0).to_dict()  # validates against the Vega-Lite schema
    text = json.dumps(spec, ensure_ascii=False)
    assert "The loss along a line through a cliff" in text and '"type": "log"' in text and '"orient": "bottom"' in text
    top_layers = spec["vconcat"][0]["layer"]
    assert len(top_layers) == 4
    walk = charts.descent_chart(plain, clipped, 0.01, 1.0, CHANCE).to_dict()
    assert "Descent from the cliff face" in json.dumps(walk, ensure_ascii=False)


def _tiny():
    config = from_dict({"dataset": "copy", "model": "rnn", "hidden": [5], "seq_len": 6, "n_samples": 60,
                        "device": "cpu"})
    spec, data = model_and_data(config)
    return spec, data, networks.init_params(spec, 3.0, seed=1)


def _sgd_walk(spec, data, theta, lr, clip, steps) -> list[float]:
    """Losses of torch.optim.SGD steps from theta, the gradient clipped by clip_grad_norm_ (clip 0: none)."""
    leaf = torch.nn.Parameter(theta.clone())
    opt, losses = torch.optim.SGD([leaf], lr=lr), []
    for _ in range(steps + 1):
        opt.zero_grad()
        loss = networks.loss_fn(spec, leaf, data.x_train, data.y_train)
        losses.append(loss.item())
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_([leaf], clip)
        opt.step()
    return losses


def test_cliff_probe_walks_its_own_gradient_and_descends_as_torch_sgd_with_clip_grad_norm():
    spec, data, theta = _tiny()
    probe = memory.cliff_probe(spec, data, theta, lr=0.5, clip_norm=0.1, steps=4, span_share=0.05, points=11)
    leaf = theta.clone().requires_grad_()
    (g,) = torch.autograd.grad(networks.loss_fn(spec, leaf, data.x_train, data.y_train), leaf)
    u = -g / g.norm()
    assert probe.grad_norm == pytest.approx(g.norm().item()) and probe.theta_norm == pytest.approx(theta.norm().item())
    assert probe.line.s.iloc[-1] == pytest.approx(0.05 * theta.norm().item())
    for s, loss in zip(probe.line.s, probe.line.loss, strict=True):
        assert loss == pytest.approx(networks.evaluate(spec, theta + s * u, data.x_train, data.y_train)[0], rel=1e-6)
    assert probe.face_s == probe.line.s[probe.line.grad_norm.iloc[1:].idxmax()] and probe.face_s > 0
    face = theta + probe.face_s * u
    for walk, clip in ((probe.plain, 0.0), (probe.clipped, 0.1)):
        assert walk.loss.to_numpy() == pytest.approx(_sgd_walk(spec, data, face, 0.5, clip, 4), rel=1e-5, abs=1e-7)
    assert probe.clipped.step_length.iloc[1:].max() <= 0.5 * 0.1 * (1 + 1e-6)
    for bad in ({"lr": 0.0}, {"clip_norm": 0.0}, {"steps": 0}):
        with pytest.raises(ValueError, match="the cliff probe needs"):
            memory.cliff_probe(spec, data, theta, **{"lr": 0.5, "clip_norm": 0.1, "steps": 2, **bad})


def test_cliff_config_is_the_measured_setting():
    config = memory.cliff_config(12, 2.5, 7)
    assert (config.dataset, config.model, config.hidden, config.n_samples, config.optimizer, config.lr,
            config.batch_size, config.steps) == ("copy", "rnn", (16,), 500, "adam", 0.01, 32, 1500)
    assert (config.seq_len, config.init_scale, config.seed) == (12, 2.5, 7)


@pytest.mark.parametrize(("text", "message"), [("abc", "'abc' is not one"), ("", "is not one"),
                                               ("0", "above 0"), ("-1", "above 0"), ("nan", "above 0"),
                                               ("inf", "at most 10"), ("11", "at most 10")])
def test_parse_positive_says_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        view.parse_positive(text, "Step size ε", "0.01", 10.0)
    assert view.parse_positive(" 0.02 ", "Step size ε", "0.01", 10.0) == 0.02


def test_address_problem_only_for_a_value_the_input_did_not_take():
    assert address_problem(None, 30, "T", 2, 60) is None
    assert address_problem("30", 30, "T", 2, 60) is None and address_problem("3", 3.0, "x", 0.5, 10) is None
    for raw in ("100", "abc", "5.5"):
        assert "not a number from 2 to 60" in address_problem(raw, 30 if raw != "5.5" else 5, "T", 2, 60)


# ---- the page ------------------------------------------------------------------------------------------------
def _page(query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    for key, value in {"mem_view": "cliff", **query}.items():
        at.query_params[key] = value
    at.switch_page("pages/memory.py")
    return at.run()


def _claims(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown if "claims, checked on" in m.value)


@pytest.mark.usefixtures("app_test_pages")
def test_the_cliff_view_on_its_defaults_draws_both_charts_and_every_claim_holds():
    at = _page({})  # trains the default setting: about 10 s on one thread
    assert not at.exception and not at.error, [e.value for e in at.error]
    titles = " ".join(c.proto.spec for c in at.get("vega_lite_chart"))
    assert "grad_norm" in at.get("vega_lite_chart")[1].proto.spec  # the ‖∇J‖ panel under the loss, its own chart
    assert len(at.get("vega_lite_chart")) == 3 and "a line through a cliff" in titles and "Descent from" in titles
    text = _claims(at)
    assert text.count("**holds**") == 4 and "**fails**" not in text, text
    assert not at.warning
    assert "Pascanu" in " ".join(c.value for c in at.caption)


@pytest.mark.usefixtures("app_test_pages")
@pytest.mark.parametrize(("query", "message"), [({"mem_cliff_lr": "abc"}, "'abc' is not one"),
                                                ({"mem_cliff_clip": "0"}, "above 0"),
                                                ({"mem_cliff_T": "500"}, "not a number from 2 to 60")])
def test_a_bad_address_value_gets_one_sentence_and_nothing_is_computed(query, message):
    at = _page(query)
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value, [e.value for e in at.error]
    assert not at.get("vega_lite_chart") and "memory_cliff_cache" not in at.session_state
