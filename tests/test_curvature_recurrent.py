"""Curvature on recurrent networks: the spectrum's paths (Lanczos on Hessian-vector products through the fused kernels,
the exact spectrum through torch.func's loop) agree with eigvalsh of torch.func.hessian on a small RNN and LSTM, and
every view of the Curvature page draws with an RNN and an LSTM run in the session. (tests/test_recurrent.py already
checks a single Hessian-vector product against torch.func.hessian.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from core.model import networks, records
from core.model.build import model_and_data
from core.model.config import TrainConfig
from core.probes import curvature, spectrum
from core.train.run import Run
from ui import curvature_view
from ui.sidebar import widget_values

APP = str(Path(__file__).resolve().parents[1] / "app.py")
RNN = TrainConfig(dataset="adding", seq_len=5, n_samples=200, model="rnn", hidden=(6,), optimizer="adam", lr=0.01,
                  steps=40, batch_size=32, device="cpu")  # a regression: 67 parameters
LSTM = TrainConfig(dataset="copy", seq_len=5, n_samples=200, model="lstm", hidden=(4,), optimizer="adam", lr=0.01,
                   steps=40, batch_size=32, device="cpu")  # a classification of 4 symbols: 180 parameters
BIG_LSTM = LSTM.replace(hidden=(12,), steps=10)  # 916 parameters: its full Hessian runs the loop (seconds to minutes)


def _trained(config: TrainConfig, number: int) -> records.RunRecord:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = Run(config)
        run.train()
    finally:
        torch.set_num_threads(previous)
    assert run.status == "done"
    return records.from_run(run, records.short_name(config, number))


@pytest.fixture(scope="module")
def runs() -> dict[str, records.RunRecord]:
    out = [_trained(RNN, 1), _trained(LSTM, 2)]
    return {r.name: r for r in out}


def test_a_recurrent_spectrum_starts_exact_only_while_its_loop_is_quick():
    assert curvature_view.exact_by_default(LSTM, 180) and curvature_view.exact_by_default(RNN, 600)
    assert not curvature_view.exact_by_default(BIG_LSTM, 916)
    assert curvature_view.exact_by_default(BIG_LSTM.replace(model="mlp", dataset="moons", hidden=(30, 30)), 1_100)
    assert not curvature_view.exact_by_default(TrainConfig(), 2_501)


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("config", [RNN, LSTM], ids=["rnn", "lstm"])
def test_spectrum_paths_equal_eigvalsh_of_func_hessian(config):
    spec, data = model_and_data(config)
    theta = networks.init_params(spec, 1.0, 3).double()
    x, y = data.x_train[:48].double(), data.y_train[:48]
    x = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=x.dtype)  # off the grid

    def loss(t):
        return networks.loss_fn(spec, t, x, y)

    hessian = torch.func.hessian(loss)(theta)
    reference = torch.linalg.eigvalsh(0.5 * (hessian + hessian.T))
    exact = spectrum.at_point(loss, theta)  # torch.func.hessian: the loop path
    assert exact.method == "exact" and exact.n_params == spec.n_params
    torch.testing.assert_close(exact.eigenvalues, reference, rtol=1e-9, atol=1e-10)
    assert exact.lambda_min < 0 < exact.lambda_max  # not a minimum at the initialisation: both ends are tested
    top, vector, _ = curvature.top_eigenvalue(loss, theta, tol=1e-10)  # reverse-over-reverse: the fused kernel
    assert top == pytest.approx(float(reference[-1]), rel=1e-7)
    assert float(torch.linalg.vector_norm(hessian @ vector - top * vector)) < 1e-4 * abs(top)  # its eigenvector
    ends = spectrum.extremes(loss, theta, 2, iterations=spec.n_params)  # a full Krylov space: the exact extremes
    torch.testing.assert_close(ends.eigenvalues, torch.cat([reference[:2], reference[-2:]]), rtol=1e-6, atol=1e-8)
    frame = spectrum.along_training(spec, data, [0], theta.float()[None], method="slq")
    assert frame["index"].iloc[0] == pytest.approx(exact.index, abs=0.05)  # the estimate, on the float32 split


# ---- the page -----------------------------------------------------------------------------------------------------
def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


def _page(view: str, runs: dict, sidebar: TrainConfig | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.session_state["run_records"] = runs
    for key, value in (widget_values(sidebar).items() if sidebar else ()):
        at.session_state[key] = value
    at.switch_page("pages/curvature.py")
    at.run()
    at.segmented_control(key="cv_view").set_value(view).run()
    return at


def _spec_text(at: AppTest) -> str:
    return " ".join(str(c.proto.spec) for c in at.get("vega_lite_chart"))


@pytest.mark.usefixtures("app_test_pages")
def test_spectrum_and_index_views_of_rnn_and_lstm_runs(runs, monkeypatch):
    at = _page("Spectrum", runs)
    for name, record in runs.items():
        at.selectbox(key="cv_run").set_value(name).run()
        assert not _errors(at), name
        metrics = {m.label: m.value for m in at.metric}
        assert {"λ_max", "λ_min", "Index", "Condition number κ"} <= set(metrics), name
        assert f"All {record.checkpoints.shape[1]} eigenvalues" in _spec_text(at)
        at.segmented_control(key="cv_method").set_value("lanczos").run()
        assert not _errors(at) and "extreme eigenvalues found by Lanczos" in _spec_text(at), name
        at.segmented_control(key="cv_split").set_value("val").run()
        at.select_slider(key="cv_step").set_value(record.steps[0]).run()
        assert not _errors(at), name
        at.segmented_control(key="cv_method").set_value("exact").run()
        at.segmented_control(key="cv_split").set_value("train").run()
    big = _trained(BIG_LSTM, 3)
    at.session_state["run_records"] = {**runs, big.name: big}
    at.run()
    at.selectbox(key="cv_run").set_value(big.name).run()  # the Lanczos extremes by default, and switching back …
    assert not _errors(at) and at.segmented_control(key="cv_method").value == "lanczos"
    assert "extreme eigenvalues found by Lanczos" in _spec_text(at)
    at.selectbox(key="cv_run").set_value(next(iter(runs))).run()  # … the small run's exact spectrum
    assert not _errors(at) and at.segmented_control(key="cv_method").value == "exact"
    at.session_state["cv_index_run"] = next(iter(runs))  # the panel lists the newest run first: the big one
    at.segmented_control(key="cv_view").set_value("Index").run()
    for name in runs:
        at.selectbox(key="cv_index_run").set_value(name).run()
        assert not _errors(at), name
        assert "Index against loss along training" in _spec_text(at), name
    monkeypatch.setattr(curvature_view, "INDEX_ASK_SECONDS", 0.5)  # whatever this machine's speed
    at.selectbox(key="cv_index_run").set_value(big.name).run()  # 11 × 400 products through the LSTM: asks first
    assert not _errors(at) and at.segmented_control(key="cv_index_method").value == "slq"
    assert any(w.value.startswith("Estimated time: about") for w in at.warning)
    assert at.button(key="cv_index_go") and "Index against loss" not in _spec_text(at)


@pytest.mark.usefixtures("app_test_pages")
def test_optimizers_saddles_and_cliffs_with_recurrent_runs_in_the_session(runs, monkeypatch):
    monkeypatch.setattr(curvature_view, "SADDLE_NET", curvature_view.SADDLE_NET.replace(steps=10))
    at = _page("Optimizers", runs, sidebar=RNN.replace(steps=8, batch_size=0))  # the sidebar's network: the RNN
    assert not _errors(at)
    assert any("RNN" in c.value or "rnn" in c.value for c in at.caption)
    at.button(key="cv_compare_go").click().run()
    assert not _errors(at)
    titles = _spec_text(at)
    assert "Training loss" in titles and "Gradient norm at" in titles and "Index of the Hessian" in titles
    at.segmented_control(key="cv_view").set_value("Saddles").run()
    at.button(key="cv_saddle_go").click().run()
    assert not _errors(at) and "Index of the Hessian" in _spec_text(at)
    at.segmented_control(key="cv_view").set_value("Cliffs").run()
    assert not _errors(at)
