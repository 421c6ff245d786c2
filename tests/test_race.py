"""Races and restarts on the analytic surfaces (core/race.py), checked against closed forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.model.optim import OPTIMIZERS, HyperParams
from core.toys import race as rc
from core.toys import surfaces as sf

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _steps(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Lengths of the steps one optimizer took."""
    part = frame[frame["optimizer"] == name]
    return np.hypot(np.diff(part["x"]), np.diff(part["y"]))


def test_every_optimizer_converges_on_a_well_conditioned_bowl():
    bowl = sf.bowl(condition=2.0, angle=30.0)
    frame = rc.race(bowl, [rc.runner(bowl, kind) for kind in OPTIMIZERS], (-2.5, 1.5), 300)
    ends = frame.groupby("optimizer").tail(1).set_index("optimizer")
    assert set(ends.index) == set(OPTIMIZERS) and not frame.attrs["stopped"]
    assert (np.hypot(ends["x"], ends["y"]) < 1e-2).all(), ends
    # f in the frame is f at (x, y): ½ pᵀAp with A from the closed form
    t = np.radians(30.0)
    r = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    a = r @ np.diag([1.0, 0.5]) @ r.T
    p = frame[["x", "y"]].to_numpy()
    np.testing.assert_allclose(frame["f"], 0.5 * np.einsum("ni,ij,nj->n", p, a, p), rtol=1e-10, atol=1e-14)


def test_the_rows_start_at_step_0_at_the_start():
    surface = sf.rosenbrock()
    frame = rc.race(surface, [rc.runner(surface, k) for k in ("sgd", "adam", "newton")], (-1.5, 2.0), 25)
    assert list(frame.columns) == ["optimizer", "step", "x", "y", "f"]
    for _, part in frame.groupby("optimizer"):
        assert part["step"].tolist() == list(range(26))
        first = part.iloc[0]
        assert (first["x"], first["y"]) == (-1.5, 2.0) and first["f"] == pytest.approx(2.5**2 + 100 * 0.25**2)


def test_newton_defaults_to_the_textbook_step():
    assert rc.default_hp(sf.rosenbrock(), "newton") == HyperParams(lr=1.0, momentum=0.0, damping=0.0)
    assert rc.default_hp(sf.rosenbrock(), "saddle-free").lr == 1.0


@pytest.mark.parametrize("start", [(-1.5, 0.1), (0.7, -1.3), (1.9, 1.9)])
def test_newton_lands_on_the_saddle_while_descent_and_saddle_free_leave(start):
    surface = sf.saddle()
    frame = rc.race(surface, [rc.runner(surface, k) for k in ("newton", "sgd", "saddle-free")], start, 30)
    newton = frame[frame["optimizer"] == "newton"]
    assert np.abs(newton[["x", "y"]].to_numpy()[1:]).max() < 1e-15  # one step onto (0, 0), and it stays
    x0, y0 = start
    free = frame[frame["optimizer"] == "saddle-free"].iloc[1]  # −|H|⁻¹g = −(x, −y): to (0, 2y)
    assert (free["x"], free["y"]) == pytest.approx((0.0, 2 * y0), abs=1e-12)
    for name in ("sgd", "saddle-free"):
        last = frame[frame["optimizer"] == name].iloc[-1]
        assert np.hypot(last["x"], last["y"]) > 2 * np.hypot(x0, y0) and last["f"] < -1
        assert "left the map" in frame.attrs["stopped"][name]


def test_clipping_on_the_cliff_keeps_every_step_short():
    cliff, clip = sf.cliff(), 1.0
    runners = [rc.runner(cliff, "sgd"), rc.runner(cliff, "sgd", name="clipped", clip_norm=clip)]
    frame = rc.race(cliff, runners, cliff.start, 300)
    lr = runners[0].hp.lr
    assert _steps(frame, "clipped").max() <= clip * lr * (1 + 1e-9)
    end = frame[frame["optimizer"] == "clipped"].iloc[-1]
    assert np.hypot(end["x"] + 2, end["y"]) < 1e-2  # walked down the face to the minimum (−2, 0)
    plain = _steps(frame, "sgd")
    assert plain.max() > 50 * clip * lr  # thrown off the face by one unclipped step
    assert "left the map" in frame.attrs["stopped"]["sgd"]


def test_a_global_clip_applies_to_runners_without_their_own():
    cliff = sf.cliff()
    frame = rc.race(cliff, [rc.runner(cliff, "sgd"), rc.runner(cliff, "sgd", name="off", clip_norm=0.0)],
                    cliff.start, 60, clip_norm=0.5)
    assert _steps(frame, "sgd").max() <= 0.5 * 0.1 * (1 + 1e-9)
    assert _steps(frame, "off").max() > 1.0


def test_noise_is_seeded():
    bowl = sf.bowl()
    runners = [rc.runner(bowl, "sgd", lr=0.5), rc.runner(bowl, "adam")]
    a = rc.race(bowl, runners, (2.0, 2.0), 50, noise=0.3, seed=4)
    b = rc.race(bowl, runners, (2.0, 2.0), 50, noise=0.3, seed=4)
    c = rc.race(bowl, runners, (2.0, 2.0), 50, noise=0.3, seed=5)
    clean = rc.race(bowl, runners, (2.0, 2.0), 50)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a[["x", "y"]], c[["x", "y"]]) and not np.allclose(a[["x", "y"]], clean[["x", "y"]])
    # the first noisy sgd step differs from the clean one by lr times a draw of size about 0.3
    d = np.hypot(*(a.iloc[1][["x", "y"]].to_numpy(float) - clean.iloc[1][["x", "y"]].to_numpy(float)))
    assert 0 < d < 0.5 * 0.3 * 5


def test_a_diverging_path_stops_cleanly():
    bowl = sf.bowl(condition=1.0)
    frame = rc.race(bowl, [rc.runner(bowl, "sgd", lr=3.0), rc.runner(bowl, "momentum", lr=1e308)], (1.0, 1.0), 500)
    sgd = frame[frame["optimizer"] == "sgd"]  # x ← (1 − 3)x: doubles in size each step, flipping sign
    assert 0 < len(sgd) < 10 and np.isfinite(sgd[["x", "y", "f"]]).all().all()
    assert sgd["x"].tolist()[:4] == [1.0, -2.0, 4.0, -8.0]
    assert "left the map" in frame.attrs["stopped"]["sgd"]
    huge = frame[frame["optimizer"] == "momentum"]
    assert len(huge) == 1 and "finite" in frame.attrs["stopped"]["momentum"]


def test_an_undefined_newton_step_stops_the_path_not_the_race():
    surface = sf.deep_linear()  # at (1, 1): ∇f = 0 and H = [[2, 2], [2, 2]] is singular
    frame = rc.race(surface, [rc.runner(surface, "newton"), rc.runner(surface, "sgd")], (1.0, 1.0), 5)
    assert len(frame[frame["optimizer"] == "newton"]) == 1 and "singular" in frame.attrs["stopped"]["newton"]
    assert len(frame[frame["optimizer"] == "sgd"]) == 6


def test_restarts_on_himmelblau_find_all_four_minima():
    surface = sf.himmelblau()
    ends = rc.restarts(surface, rc.runner(surface, "sgd"), 40, 300, seed=1)
    published = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
    found = ends[["x", "y"]].to_numpy()
    for m in published:
        assert np.hypot(*(found - m).T).min() < 1e-5, m
    assert (ends["f"] < 1e-9).all() and (ends["end"] != "elsewhere").all()
    x0, x1, y0, y1 = surface.window
    assert ends["start_x"].between(x0, x1).all() and ends["start_y"].between(y0, y1).all()
    pd.testing.assert_frame_equal(ends, rc.restarts(surface, rc.runner(surface, "sgd"), 40, 300, seed=1))


def test_restarts_on_rastrigin_mostly_end_in_local_minima():
    surface = sf.rastrigin()
    ends = rc.restarts(surface, rc.runner(surface, "sgd"), 30, 300, seed=0)
    # local minima of Rastrigin sit near integer points, f ≈ Σ xᵢ² there
    near = np.hypot(ends["x"] - ends["x"].round(), ends["y"] - ends["y"].round())
    assert (near < 0.05).all()
    np.testing.assert_allclose(ends["f"], ends["x"].round() ** 2 + ends["y"].round() ** 2, rtol=0.01, atol=0.05)


def test_at_step_holds_a_stopped_path_at_its_last_row():
    surface = sf.saddle()
    frame = rc.race(surface, [rc.runner(surface, "newton"), rc.runner(surface, "saddle-free")], (1.0, 0.5), 30)
    now = rc.at_step(frame, 25).set_index("optimizer")
    assert now.loc["newton", "step"] == 25
    last = frame[frame["optimizer"] == "saddle-free"].iloc[-1]
    assert now.loc["saddle-free", "step"] == last["step"] < 25


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"steps": 0}, "steps"), ({"steps": rc.MAX_STEPS + 1}, "steps"), ({"start": (1.0, float("nan"))}, "finite"),
    ({"start": "a"}, "two numbers"), ({"noise": -1.0}, "noise"), ({"runners": []}, "at least one"),
    ({"runners": [rc.Runner("a", "sgd", HyperParams(0.1)), rc.Runner("a", "adam", HyperParams(0.1))]}, "own name"),
    ({"runners": [rc.Runner("a", "sgd", HyperParams(-0.1))]}, "learning rate"),
    ({"runners": [rc.Runner("a", "momentum", HyperParams(0.1, momentum=1.0))]}, "momentum"),
    ({"runners": [rc.Runner("a", "lbfgs", HyperParams(0.1))]}, "unknown optimizer")])
def test_bad_race_settings_are_value_errors(kwargs, match):
    bowl = sf.bowl()
    args = {"runners": [rc.runner(bowl, "sgd")], "start": (1.0, 1.0), "steps": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        rc.race(bowl, args.pop("runners"), args.pop("start"), args.pop("steps"), **args)
