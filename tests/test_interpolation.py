"""The Interpolation experiment: records, endpoint pairs, chunked curves with progress, metrics, presets."""

import numpy as np
import pytest
import torch

from core import presets
from core.model import build, networks, records
from core.model.config import TrainConfig
from core.probes import endpoints
from core.probes.interpolation import alpha_grid, interpolate
from core.train.live import LiveRun
from core.train.run import Run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = TrainConfig(dataset="blobs", n_samples=200, hidden=(8,), activation="relu", steps=120, batch_size=16)


@pytest.fixture(scope="module")
def two_seeds():
    kept = []
    for seed in (0, 1):
        run = Run(SMALL.replace(seed=seed))
        run.train()
        kept.append(records.from_run(run, f"seed {seed}"))
    return kept


def test_pick_checkpoints_keeps_first_and_last_and_spreads_evenly():
    assert records.pick_checkpoints(list(range(5)), limit=17) == [0, 1, 2, 3, 4]
    picked = records.pick_checkpoints(list(range(100)), limit=5)
    assert picked == [0, 25, 50, 74, 99] or picked == [0, 25, 50, 75, 99]
    assert len(records.pick_checkpoints(list(range(1000)))) == records.MAX_CHECKPOINTS


def test_record_of_a_run_holds_its_init_its_final_and_trajectory_checkpoints():
    run = Run(SMALL)
    run.train()
    record = records.from_run(run, "r")
    assert record.steps[0] == 0 and record.step == run.step == 120
    assert torch.equal(record.theta_init, run.theta_init.float())
    assert torch.equal(record.theta_final, run.theta.float())
    steps, thetas = run.trajectory.view()
    for step, theta in zip(record.steps, record.checkpoints):
        if step in steps:
            assert torch.equal(theta, thetas[steps.index(step)])
    assert record.final_value("train_loss") == pytest.approx(run.metrics_frame()["train_loss"].iloc[-1])
    with pytest.raises(ValueError, match="no checkpoint at step"):
        record.checkpoint(7)


def test_live_record_equals_the_in_process_record():
    live = LiveRun(SMALL)
    try:
        live.step_once()
        for _ in range(4):
            live.step_once()
        record = live.record("live")
    finally:
        live.close()
    run = Run(SMALL)
    run.train(max_steps=5)
    reference = records.from_run(run, "ref")
    assert record.steps == reference.steps == (0, 1, 2, 3, 4, 5)
    assert torch.equal(record.checkpoints, reference.checkpoints)
    assert record.straying.equals(reference.straying)


def test_curves_in_chunks_equal_one_call_and_report_progress(two_seeds):
    record = two_seeds[0]
    alphas = alpha_grid(-0.5, 1.5, 47)  # three chunks of CHUNK = 20
    seen = []
    frame = endpoints.curves([endpoints.init_to_final(record)], alphas, progress=seen.append)
    spec, data = build.model_and_data(record.config)
    reference = interpolate(spec, record.theta_init, record.theta_final, data, alphas)
    assert list(frame.columns) == ["curve", *reference.columns]
    np.testing.assert_allclose(frame[reference.columns].to_numpy(), reference.to_numpy(), rtol=1e-6)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 3


def test_curve_ends_equal_the_runs_own_metrics(two_seeds):
    a, b = two_seeds
    frame = endpoints.curves([endpoints.final_to_final(a, b)], alpha_grid(0, 1, 5))
    assert frame["train_loss"].iloc[0] == pytest.approx(a.final_value("train_loss"), rel=1e-5)
    assert frame["train_loss"].iloc[-1] == pytest.approx(b.final_value("train_loss"), rel=1e-5)
    assert frame["val_error"].iloc[-1] == pytest.approx(b.final_value("val_error"), abs=1e-12)


def test_several_pairs_stack_with_their_labels(two_seeds):
    pairs = [endpoints.init_to_final(r) for r in two_seeds]
    frame = endpoints.curves(pairs, alpha_grid(0, 1, 11))
    assert list(frame["curve"].unique()) == ["seed 0: init → final", "seed 1: init → final"]
    table = endpoints.curve_table(frame)
    assert len(table) == 4 and set(table["split"]) == {"train", "validation"}


def test_random_point_has_the_asked_norm_and_depends_on_its_seed():
    p = endpoints.random_point(1000, 7.5, seed=3)
    assert float(p.double().norm()) == pytest.approx(7.5, rel=1e-6)
    assert torch.equal(p, endpoints.random_point(1000, 7.5, seed=3))
    assert not torch.equal(p, endpoints.random_point(1000, 7.5, seed=4))
    with pytest.raises(ValueError, match="positive"):
        endpoints.random_point(10, 0.0, 0)


def test_random_to_final_starts_at_the_random_point(two_seeds):
    pair = endpoints.random_to_final(two_seeds[0], 20.0, seed=1)
    assert float(pair.theta0.norm()) == pytest.approx(20.0, rel=1e-5)
    assert torch.equal(pair.theta1, two_seeds[0].theta_final)


def test_final_to_final_refuses_different_networks(two_seeds):
    run = Run(SMALL.replace(hidden=(4,), steps=1))
    other = records.from_run(run, "narrow")
    with pytest.raises(ValueError, match="differ in hidden"):
        endpoints.final_to_final(two_seeds[0], other)
    assert endpoints.incompatibility(*two_seeds) is None


def test_convex_model_has_no_barrier_between_two_solutions():
    """Logistic regression is convex in θ: between two of its solutions J(θ(α)) is convex, never above the chord
    between its ends, so the barrier is 0."""
    config = TrainConfig(dataset="blobs", n_samples=300, hidden=(), steps=400, optimizer="momentum", lr=0.1)
    ends = []
    for seed in (0, 5):
        run = Run(config.replace(seed=seed))
        run.train()
        ends.append(records.from_run(run, f"s{seed}"))
    frame = endpoints.curves([endpoints.final_to_final(*ends)], alpha_grid(0, 1, 41))
    j = frame["train_loss"].to_numpy()
    assert np.all(np.diff(j, 2) >= -1e-6)  # convex along the line
    m = endpoints.curve_table(frame).iloc[0]
    assert 0 <= m["barrier"] <= 1e-6


def test_checkpoint_pair_uses_stored_checkpoints(two_seeds):
    record = two_seeds[0]
    mid = record.steps[len(record.steps) // 2]
    pair = endpoints.checkpoint_to_checkpoint(record, 0, mid)
    assert torch.equal(pair.theta1, record.checkpoints[len(record.steps) // 2])


# ---- presets ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(presets.PRESETS))
def test_every_preset_is_consistent(name):
    p = presets.get(name)
    assert p.page in ("train", "interpolation", "straying", "deep-linear", "minima") and p.caption.endswith(".")
    configs = p.configs()  # valid TrainConfigs
    if p.page == "train":  # the sidebar's widgets take the run's whole config
        assert len(configs) == 1 and set(p.view) == set(configs[0].to_dict())
    if p.page == "interpolation":
        assert configs and p.view["ip_mode"] in presets.MODES
        for title, alphas in presets.grids(p.view).items():
            assert alphas[0] <= 1 and alphas[-1] >= 0 if title == "main" else len(alphas) == p.view["ip_points"]
        if p.view["ip_mode"] == "final-final":
            assert len(configs) == 2 and configs[0].seed != configs[1].seed


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        presets.get("nope")


def test_pairs_for_each_mode(two_seeds):
    a, b = two_seeds
    assert [p.label for p in presets.pairs_for({"ip_mode": "init-final"}, [a, b])] == [
        "seed 0: init → final", "seed 1: init → final"]
    assert torch.equal(presets.pairs_for({"ip_mode": "final-final"}, [a, b])[0].theta1, b.theta_final)
    random = presets.pairs_for({"ip_mode": "random-final", "ip_norm_ratio": 2.0}, [a])[0]
    assert float(random.theta0.norm()) == pytest.approx(2 * float(a.theta_final.norm()), rel=1e-5)
    with pytest.raises(ValueError, match="needs two runs"):
        presets.pairs_for({"ip_mode": "final-final"}, [a])


def test_zoom_windows_are_fig4s():
    grids = presets.grids({"ip_points": 200, "ip_windows": ["0–0.01", "0.99–1"]})
    assert len(grids["main"]) == 200 and grids["0–0.01"][0] == 0 and grids["0–0.01"][-1] == 0.01
    assert grids["0.99–1"][-1] == 1.0 and len(grids["0.99–1"]) == 200


def test_spec_of_a_record_rebuilds_the_runs_network(two_seeds):
    spec, data = build.model_and_data(two_seeds[0].config)
    assert spec.n_params == two_seeds[0].checkpoints.shape[1]
    loss, _ = networks.evaluate(spec, two_seeds[0].theta_final, data.x_train, data.y_train)
    assert loss == pytest.approx(two_seeds[0].final_value("train_loss"), rel=1e-5)
