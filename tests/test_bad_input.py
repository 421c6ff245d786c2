"""Bad input gets one clear message before any work is done: the CLI's --out, the hidden widths, the deep-linear
points, a damaged run folder, and a link whose settings the sidebar cannot take."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file
from streamlit.testing.v1 import AppTest

from core.cli.main import main
from core.model import config as config_mod
from core.toys import deep_linear

FAST = ["--set", "steps=3", "--set", "n_samples=60"]


@pytest.mark.parametrize("kind", ["empty", "file", "under-a-file", "unwritable"])
def test_a_bad_out_folder_is_refused_before_training(kind, tmp_path, capsys, monkeypatch):
    a_file = tmp_path / "a_file"
    a_file.write_text("x", encoding="utf-8")
    out = {"empty": "", "file": str(a_file), "under-a-file": str(a_file / "run"),
           "unwritable": "/proc/playground"}[kind]
    trained = []
    monkeypatch.setattr("core.cli.train.Run", lambda *a, **k: trained.append(1))  # training must not even start
    assert main(["train", *FAST, "--out", out]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --out") and not trained


def test_every_command_checks_out_first(tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x", encoding="utf-8")
    for argv in (["random-walk", "--dims", "2"], ["deep-linear", "--from", "1,1", "--to", "0,0"],
                 ["surface", "bowl"], ["preset", "fig9-deep-linear-init"]):
        assert main([*argv, "--out", str(a_file)]) == 2, argv
        assert "is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("text", [",,,", "[[[", "32;32", "[32", "a,b", "32,,32", "-3"])
def test_malformed_hidden_widths_are_an_error_not_logistic_regression(text):
    with pytest.raises(ValueError, match="hidden must be comma-separated widths"):
        config_mod.from_dict({"hidden": text})
    assert config_mod.from_dict({"hidden": ""}).hidden == ()  # empty on purpose: logistic regression
    assert config_mod.from_dict({"hidden": "[16, 8]"}).hidden == (16, 8)


@given(st.text(max_size=12))
def test_any_hidden_text_parses_or_names_the_field(text):
    try:
        hidden = config_mod.from_dict({"hidden": text}).hidden
    except ValueError as exc:
        assert str(exc).startswith("hidden must be")
    else:
        assert all(1 <= h <= config_mod.MAX_WIDTH for h in hidden)
        assert hidden or text.replace(" ", "") in ("", "[]", ",", "[,]")


def test_the_cli_names_a_malformed_hidden_in_one_line(tmp_path, capsys):
    assert main(["train", "--set", "hidden=,,,", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == ("error: hidden must be comma-separated widths such as 32,32 (empty for "
                                               "logistic regression), got ',,,'")


def test_deep_linear_refuses_points_that_would_overflow(tmp_path, capsys):
    with pytest.raises(ValueError, match="within ±1e"):
        deep_linear.parse_point("1e308,1e308", "start")
    assert main(["deep-linear", "--from", "1e308,1e308", "--to", "1,1", "--out", str(tmp_path)]) == 2
    assert "overflow" in capsys.readouterr().err


def test_a_run_folder_with_non_finite_parameters_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", *FAST, "--out", str(run)]) == 0
    params = load_file(str(run / "params.safetensors"))
    params["theta_final"][3] = float("nan")
    save_file(params, str(run / "params.safetensors"))
    capsys.readouterr()
    assert main(["interpolate", "--run", str(run), "--out", str(tmp_path / "i")]) == 2
    assert "non-finite parameters" in capsys.readouterr().err
    assert not (tmp_path / "i" / "interpolation.csv").exists()


def test_a_link_with_bad_settings_says_which_were_ignored(app_test_pages):
    at = AppTest.from_file(os.path.join(os.path.dirname(__file__), "..", "app.py"), default_timeout=60)
    for key, value in {"lr": "NaN", "steps": "-5", "dataset": "nope", "n_samples": "50"}.items():
        at.query_params[key] = value
    at.switch_page("pages/train.py").run()
    (warning,) = [w.value for w in at.warning if "could not use" in w.value]
    assert "`lr=NaN` was ignored: lr must be a finite number" in warning
    assert "`steps=-5` was ignored: steps must be >= 1" in warning
    assert "`dataset=nope` was ignored: dataset must be one of" in warning
    assert "`n_samples=50` was ignored: it is outside what the sidebar offers" in warning
    config = at.session_state["config"]
    assert config.lr == config_mod.DEFAULT.lr and config.dataset == "moons"


def test_a_link_with_settings_to_a_page_without_them_says_they_were_not_used(app_test_pages):
    at = AppTest.from_file(os.path.join(os.path.dirname(__file__), "..", "app.py"), default_timeout=60)
    at.query_params["lr"], at.query_params["hidden"] = "0.1", "8"
    at.switch_page("pages/surfaces.py").run()
    (note,) = [w.value for w in at.sidebar.warning if "does not train" in w.value]
    assert "`lr=0.1`" in note and "`hidden=8`" in note


# ---- the CPU budget a visitor's processes size their threads from ---------------------------------------------------
@pytest.mark.parametrize(("files", "expected"), [
    ({"cpu.max": "150000 100000\n"}, 2),  # v2: 1.5 CPUs -> 2 threads
    ({"cpu.max": "max 100000\n"}, None),  # v2: no quota -> the affinity
    ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),  # v1: one CPU
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # v1: unlimited
    ({"cpu.max": "garbage"}, None),  # unreadable: the affinity
])
def test_cpu_budget_follows_the_container_quota(files, expected, tmp_path):
    from core.model.device import cpu_budget

    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    cores = len(os.sched_getaffinity(0))
    assert cpu_budget(tmp_path) == (min(cores, expected) if expected else cores)
