"""Bad input past the limits gets one clear message before any work is done: a number beyond the floats in a link,
restart and thread counts, seeds, an endless config file, an exact spectrum too big for memory, the upload size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

import ui
from core.cli import restarts as cli_restarts
from core.cli.main import main
from core.model import config as config_mod
from core.model import csv_table, records
from core.model.build import model_and_data
from core.model.config import TrainConfig
from core.probes import spectrum
from core.train.run import Run

ROOT = Path(__file__).resolve().parents[1]
NINES = "9" * 5000


def _one_line(capsys, start: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(start), err
    assert len(err[0]) < 400, err[0]
    return err[0]


def _calls(monkeypatch, target: str) -> list:
    """Replace `target` by a recorder: the refusal must come before it is ever called."""
    calls = []
    monkeypatch.setattr(target, lambda *a, **k: calls.append(a))
    return calls


# ---- restarts: --seeds, --threads, --chunk --------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "start"), [
    (["--seeds", "1000000000"], "error: --seeds takes a whole number from 1 to 5,000"),
    (["--seeds", NINES], "error: --seeds takes a whole number from 1 to 5,000"),
    (["--seeds", "2", "--threads", "100000"], "error: --threads takes a whole number from 1 to 64"),
    (["--seeds", "2", "--threads", "0"], "error: --threads takes a whole number from 1 to 64"),
    (["--seeds", "2", "--chunk", "0"], "error: --chunk takes a whole number from 1 to 5,000"),
])
def test_restarts_refuses_huge_counts_before_training(args, start, tmp_path, capsys, monkeypatch):
    swept = _calls(monkeypatch, "core.train.restarts.sweep")
    threads = _calls(monkeypatch, "torch.set_num_threads")
    assert main(["restarts", "--set", "steps=2", *args, "--out", str(tmp_path)]) == 2
    _one_line(capsys, start)
    assert not swept and not threads


@given(st.integers(-10, 10**12) | st.text(max_size=30).map(str))
def test_a_count_is_from_1_to_its_cap_or_refused_in_one_line(value):
    text = str(value)
    try:
        n = cli_restarts._count(text, "--seeds", "how many restarts", cli_restarts.MAX_SEEDS)
    except ValueError as exc:
        assert str(exc).startswith("--seeds takes a whole number from 1 to 5,000") and "\n" not in str(exc)
    else:
        assert 1 <= n <= cli_restarts.MAX_SEEDS and text.strip() == str(n)


# ---- seeds of the other commands ----------------------------------------------------------------------------------
SEEDED = {  # command line (before --seed) -> what it would do first
    "permute": (["permute", "--run", "R"], "core.cli.symmetry.load_run_dir"),
    "interpolate": (["interpolate", "--run", "R", "--random-norm", "1"], "core.cli.experiments.load_run_dir"),
    "plane": (["plane", "--run", "R"], "core.cli.landscape.load_run_dir"),
    "random-walk": (["random-walk", "--dims", "2"], "core.cli.paper.write_random_walk"),
    "convex-paths": (["convex-paths", "--dim", "10"], "core.cli.paper.write_convex_paths"),
    "surface": (["surface", "bowl"], "core.toys.surfaces.make"),
    "preset": (["preset", "fig9-deep-linear-init"], "core.presets.get"),
    "gradient-noise": (["gradient-noise", "--run", "R"], "core.cli.noise.load_run_dir"),
}


@pytest.mark.parametrize("seed", ["-1", str(2**70)])
@pytest.mark.parametrize("command", list(SEEDED))
def test_every_seed_option_takes_a_seed_from_0(command, seed, tmp_path, capsys, monkeypatch):
    argv, first = SEEDED[command]
    work = _calls(monkeypatch, first)
    assert main([*argv, f"--seed={seed}", "--out", str(tmp_path)]) == 2
    _one_line(capsys, "error: --seed takes a")
    assert not work


# ---- config files and --set values ----------------------------------------------------------------------------------
def test_a_config_file_is_read_only_up_to_its_cap(tmp_path, capsys, monkeypatch):
    trained = _calls(monkeypatch, "core.cli.train.Run")
    assert main(["train", "--config", "/dev/zero", "--out", str(tmp_path / "a")]) == 2
    assert _one_line(capsys, "error: config file '/dev/zero' is larger than 1,000,000 bytes")
    sparse = tmp_path / "huge.json"  # 50 GB of holes: reading it whole would take minutes
    with open(sparse, "wb") as fh:
        fh.truncate(50 * 10**9)
    with pytest.raises(ValueError, match="is larger than 1,000,000 bytes"):
        config_mod.load_json(str(sparse))
    assert not trained
    small = tmp_path / "small.json"
    small.write_text(json.dumps({"steps": 3}), encoding="utf-8")
    assert config_mod.load_json(str(small)) == {"steps": 3}


@pytest.mark.parametrize("value", ["1e400", "9" * 400, NINES, "-1e999"])
def test_a_huge_number_for_a_field_names_the_field_in_one_short_line(value, tmp_path, capsys, monkeypatch):
    trained = _calls(monkeypatch, "core.cli.train.Run")
    assert main(["train", "--set", f"steps={value}", "--out", str(tmp_path)]) == 2
    _one_line(capsys, "error: steps must be")
    assert not trained


@given(st.sampled_from(["seed", "data_seed", "steps", "lr", "hidden"]),
       st.integers(-(10**400), 10**400) | st.text(alphabet="0123456789e.-+,[]", max_size=600))
def test_any_number_text_for_a_field_parses_or_names_it(name, value):
    try:
        config_mod.from_dict({name: value if isinstance(value, str) else str(value)})
    except ValueError as exc:
        assert str(exc).startswith(f"{name} must be") and len(str(exc)) < 300


# ---- the exact spectrum's memory ------------------------------------------------------------------------------------
CNN = TrainConfig(dataset="digits", model="cnn", channels=(2,), steps=3, device="cpu")


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cnn")
    assert main(["train", "--set", "dataset=digits", "--set", "model=cnn", "--set", "channels=[2]",
                 "--set", "steps=3", "--out", str(out)]) == 0
    return out


def test_a_cnn_too_big_for_the_exact_spectrum_is_refused_before_the_hessian(cnn_run, tmp_path, capsys, monkeypatch):
    built = _calls(monkeypatch, "core.probes.spectrum.exact")
    assert main(["spectrum", "--run", str(cnn_run), "--method", "exact", "--out", str(tmp_path)]) == 2
    line = _one_line(capsys, "error: The exact spectrum of this CNN (350 parameters, 1,438 train samples) would take "
                              "about 1.9 GB of memory, above the budget of 1.5 GB")
    assert "--method lanczos" in line and not built


def test_auto_takes_lanczos_where_the_exact_spectrum_does_not_fit(cnn_run, tmp_path, capsys):
    assert main(["spectrum", "--run", str(cnn_run), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert ": lanczos, 20 eigenvalues of 350;" in out and "more memory than PLAYGROUND_EXACT_MEMORY_MB allows" in out


def test_the_budget_comes_from_the_environment(monkeypatch):
    spec, data = model_and_data(TrainConfig(n_samples=100, hidden=(4,), device="cpu"))
    assert spectrum.exact_memory_problem(spec, data) is None
    monkeypatch.setenv(spectrum.EXACT_MEMORY_ENV, "1")
    assert "above the budget of 1 MB" in spectrum.exact_memory_problem(spec, data)
    monkeypatch.setenv(spectrum.EXACT_MEMORY_ENV, "lots")
    assert spectrum.exact_memory_problem(spec, data).startswith("PLAYGROUND_EXACT_MEMORY_MB must be a whole number")


def test_along_training_refuses_exact_and_auto_estimates_instead(monkeypatch):
    run = Run(TrainConfig(n_samples=100, hidden=(4,), steps=4, log_every=2, device="cpu"))
    run.train()
    record = records.from_run(run, "r")
    steps, thetas = record.steps, record.checkpoints
    monkeypatch.setenv(spectrum.EXACT_MEMORY_ENV, "1")
    built = _calls(monkeypatch, "core.probes.spectrum.exact")
    with pytest.raises(ValueError, match="would take about"):
        spectrum.along_training(run.spec, run.data, steps[:2], thetas[:2], method="exact")
    frame = spectrum.along_training(run.spec, run.data, steps[:2], thetas[:2], method="auto")
    assert set(frame.method) == {"slq"} and not built


def test_the_default_network_stays_exact_and_the_parameter_limit_still_speaks():
    spec, data = model_and_data(TrainConfig(device="cpu"))  # the Train page's network: 1,218 parameters
    assert spectrum.exact_memory_problem(spec, data) is None
    big, big_data = model_and_data(TrainConfig(hidden=(64, 64), n_samples=100, device="cpu"))
    assert big.n_params > 2500 and spectrum.exact_memory_problem(big, big_data) is None  # the 2,500 rule's case


MEASURE = """
import json, re, sys
import torch
from core.model.build import model_and_data
from core.model.config import from_dict
from core.model.networks import init_params
from core.probes import spectrum
def status(key):  # bytes
    return int(re.search(key + r":\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
torch.set_num_threads(1)
spec, data = model_and_data(from_dict(json.loads(sys.argv[1])))
theta = init_params(spec)
loss = spectrum.split_loss(spec, data)
loss(theta)
open("/proc/self/clear_refs", "w").write("5")  # the peak (VmHWM) starts again from here
before = status("VmRSS")
spectrum.exact(loss, theta)
print(json.dumps({"grown": status("VmHWM") - before, "estimate": spectrum.exact_memory(spec, data)}))
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures the peak through Linux's /proc")
@pytest.mark.parametrize("config", [{"dataset": "digits", "model": "cnn", "channels": [1], "val_fraction": 0.8},
                                    {"dataset": "adding", "model": "lstm", "hidden": [4], "seq_len": 10,
                                     "n_samples": 100, "device": "cpu"}])
def test_the_estimate_is_above_the_measured_peak(config):
    done = subprocess.run([sys.executable, "-c", MEASURE, json.dumps({**config, "device": "cpu"})], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["grown"] <= result["estimate"] < 20 * max(result["grown"], 64 * 2**20), result


# ---- the app: numbers beyond the floats in a link, the exact spectrum -----------------------------------------------
PAGES = [("train", "seed", "1e400"), ("interpolation", "data_seed", "1e999"), ("straying", "steps", NINES),
         ("landscape", "seed", "inf"), ("minima", "seed", "1e400"), ("curvature", "data_seed", "1e999"),
         ("gradients", "steps", NINES), ("surfaces", "sf_seed", "1e400")]


def _app(page: str, query: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    return at.switch_page(str(ROOT / "pages" / f"{page}.py")).run()


@pytest.mark.usefixtures("app_test_pages")
@pytest.mark.parametrize(("page", "key", "value"), PAGES, ids=[p[0] for p in PAGES])
def test_a_huge_number_in_a_link_is_an_ignored_field(page, key, value):
    at = _app(page, {key: value})
    assert not at.exception, [e.value for e in at.exception]
    notes = [w.value for w in at.warning if "could not use" in w.value]
    assert len(notes) == 1 and f"`{key}={ui.shown(value)}` was ignored" in notes[0], notes
    assert key not in at.query_params  # a copied link does not carry it on


def test_the_one_conversion_of_a_link_number():
    assert ui.url_number("0.5") == 0.5 and ui.url_number(" 7 ") == 7
    for text in ("1e400", "-inf", "nan", NINES, "abc", "", None):
        assert ui.url_number(text) is None
    assert ui.unusable_number("1e400") and ui.unusable_number(NINES) and not ui.unusable_number("abc")
    sentence = ui.address_problem(NINES, 3, "Seed", 0, 10)
    assert len(sentence) < 200 and "(5,000 characters)" in sentence


@given(st.text(max_size=40))
def test_any_link_text_is_a_finite_number_or_none(text):
    value = ui.url_number(text)
    assert value is None or (value == value and abs(value) != float("inf"))
    if ui.unusable_number(text):
        assert value is None


@pytest.mark.usefixtures("app_test_pages")
def test_the_curvature_page_refuses_the_exact_spectrum_with_the_same_sentence(monkeypatch):
    run = Run(CNN)
    run.train()
    record = records.from_run(run, "#1 cnn [2] seed 0")
    built = _calls(monkeypatch, "core.probes.spectrum.exact")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.session_state["run_records"] = {record.name: record}
    at.switch_page(str(ROOT / "pages" / "curvature.py")).run()
    assert at.segmented_control(key="cv_method").value == "lanczos"  # where exact does not fit, Lanczos first
    at.segmented_control(key="cv_method").set_value("exact").run()
    spec, data = model_and_data(CNN)
    assert [e.value for e in at.error] == [spectrum.exact_memory_problem(spec, data)]
    assert not at.exception and not built


# ---- the server's upload cap ----------------------------------------------------------------------------------------
def test_the_servers_upload_cap_is_the_csv_cap():
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))["server"]
    assert server["maxUploadSize"] * 2**20 == csv_table.CSV_MAX_BYTES  # Streamlit's MB are 2**20 bytes


def test_streamlit_reads_the_cap_from_the_file():
    done = subprocess.run([sys.executable, "-c", "from streamlit import config; "
                           "print(config.get_option('server.maxUploadSize'))"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ}, check=True)
    assert done.stdout.strip().splitlines()[-1] == str(csv_table.CSV_MAX_BYTES // 2**20)
