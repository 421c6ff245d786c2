"""python -m core interpolate and python -m core preset: files, columns, identities and clear errors."""

import json

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from core import presets
from core.cli.main import main
from core.model.config import TrainConfig
from core.probes.straying import straying_summary

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CURVE = ["alpha", "train_loss", "val_loss", "train_error", "val_error"]
BASE = {"dataset": "blobs", "n_samples": 200, "hidden": [8], "activation": "relu", "steps": 80, "batch_size": 16}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two runs of one network from different seeds, and one of another network, written by `train`."""
    tmp = tmp_path_factory.mktemp("runs")
    dirs = {}
    for name, extra in (("a", {}), ("b", {"seed": 1}), ("wide", {"hidden": [12]})):
        config = tmp / f"{name}.json"
        config.write_text(json.dumps({**BASE, **extra}), encoding="utf-8")
        assert main(["train", "--config", str(config), "--out", str(tmp / name)]) == 0
        dirs[name] = tmp / name
    return dirs


def test_interpolate_init_to_final_matches_the_runs_metrics(trained, tmp_path):
    assert main(["interpolate", "--run", str(trained["a"]), "--points", "21", "--out", str(tmp_path), "--png"]) == 0
    curve = pd.read_csv(tmp_path / "interpolation.csv")
    assert list(curve.columns) == CURVE and len(curve) == 21
    metrics = pd.read_csv(trained["a"] / "metrics.csv")
    for alpha, row in ((0.0, metrics.iloc[0]), (1.0, metrics.iloc[-1])):
        at = curve[curve.alpha == alpha].iloc[0]
        assert at.train_loss == pytest.approx(row.train_loss, rel=1e-5)
        assert at.val_error == pytest.approx(row.val_error, abs=1e-12)
    assert (tmp_path / "interpolation.png").read_bytes()[:4] == b"\x89PNG"
    table = pd.read_csv(tmp_path / "curve_metrics.csv")
    assert list(table.columns) == ["split", "monotone", "max_bump", "bump_alpha", "barrier"]
    for split, column in (("train", "train_loss"), ("validation", "val_loss")):
        j, a = curve[column].to_numpy(), curve.alpha.to_numpy()  # the chord, by hand
        expected = max(v - ((1 - x) * j[0] + x * j[-1]) for x, v in zip(a, j))
        assert table[table.split == split].barrier.iloc[0] == pytest.approx(max(expected, 0.0), abs=1e-9)


def test_interpolate_final_to_final_and_random_point(trained, tmp_path):
    assert main(["interpolate", "--run", str(trained["a"]), "--to", str(trained["b"]), "--alpha-min", "-0.5",
                 "--alpha-max", "1.5", "--points", "9", "--out", str(tmp_path / "ff")]) == 0
    ff = pd.read_csv(tmp_path / "ff" / "interpolation.csv")
    assert ff.alpha.min() == -0.5 and {0.0, 1.0} <= set(ff.alpha)
    b_final = pd.read_csv(trained["b"] / "metrics.csv").iloc[-1]
    assert ff[ff.alpha == 1.0].train_loss.iloc[0] == pytest.approx(b_final.train_loss, rel=1e-5)
    assert main(["interpolate", "--run", str(trained["a"]), "--random-norm", "50", "--points", "5",
                 "--out", str(tmp_path / "rf")]) == 0
    rf = pd.read_csv(tmp_path / "rf" / "interpolation.csv")
    a_final = pd.read_csv(trained["a"] / "metrics.csv").iloc[-1]
    assert rf.train_loss.iloc[-1] == pytest.approx(a_final.train_loss, rel=1e-5)
    assert rf.train_loss.iloc[0] > 5 * a_final.train_loss  # a random point far out is much worse


@pytest.mark.parametrize(("args", "message"), [
    (["--to", "B", "--random-norm", "3"], "not both"),
    (["--alpha-min", "1", "--alpha-max", "0"], "must be below"),
    (["--points", "1"], "between 2 and"),
    (["--random-norm", "-1"], "must be positive"),
])
def test_interpolate_bad_arguments_exit_2(trained, tmp_path, capsys, args, message):
    args = [a.replace("B", str(trained["b"])) for a in args]
    assert main(["interpolate", "--run", str(trained["a"]), *args, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_interpolate_between_different_networks_exits_2(trained, tmp_path, capsys):
    assert main(["interpolate", "--run", str(trained["a"]), "--to", str(trained["wide"]), "--out", str(tmp_path)]) == 2
    assert "differ in hidden" in capsys.readouterr().err


def test_interpolate_missing_or_malformed_run_folder_exits_2(trained, tmp_path, capsys):
    assert main(["interpolate", "--run", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((trained["a"] / "config.json").read_text(), encoding="utf-8")
    (broken / "params.safetensors").write_bytes(b"not a safetensors file")
    assert main(["interpolate", "--run", str(broken), "--out", str(tmp_path / "o")]) == 2
    assert "cannot be read" in capsys.readouterr().err
    params = load_file(str(trained["wide"] / "params.safetensors"))
    from safetensors.torch import save_file

    save_file(params, str(broken / "params.safetensors"))  # the wrong network's parameters
    assert main(["interpolate", "--run", str(broken), "--out", str(tmp_path / "o")]) == 2
    assert "network has" in capsys.readouterr().err


def test_preset_list_names_every_preset(capsys):
    assert main(["preset", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in presets.PRESETS)


def test_unknown_preset_exits_2(tmp_path, capsys):
    assert main(["preset", "fig99", "--out", str(tmp_path)]) == 2
    assert "unknown preset" in capsys.readouterr().err


@pytest.fixture
def small_presets(monkeypatch):
    """The figure presets with tiny runs, so that the test trains in a second."""
    small = {**BASE, "steps": 40}
    for name, p in list(presets.PRESETS.items()):
        if p.runs:
            runs = tuple({**small, "activation": r.get("activation", "relu"), "seed": r.get("seed", 0)} for r in p.runs)
            monkeypatch.setitem(presets.PRESETS, name, presets.Preset(p.name, p.figure, p.title, p.caption, p.page,
                                                                      runs, {**p.view, "ip_points": 11}))


def test_interpolation_preset_writes_curves_metrics_and_each_run(small_presets, tmp_path):
    assert main(["preset", "fig5-two-solutions", "--out", str(tmp_path), "--svg"]) == 0
    curve = pd.read_csv(tmp_path / "interpolation.csv")
    assert list(curve.columns) == ["curve", *CURVE] and curve.curve.nunique() == 1
    table = pd.read_csv(tmp_path / "curve_metrics.csv")
    assert list(table.columns) == ["curve", "split", "monotone", "max_bump", "bump_alpha", "barrier"]
    for i, seed in ((1, 0), (2, 1)):
        assert TrainConfig(**json.loads((tmp_path / "runs" / f"run{i}" / "config.json").read_text())).seed == seed
    a = load_file(str(tmp_path / "runs" / "run1" / "params.safetensors"))["theta_final"]
    b = load_file(str(tmp_path / "runs" / "run2" / "params.safetensors"))["theta_final"]
    assert not torch.equal(a, b)
    assert (tmp_path / "interpolation.svg").read_text().startswith("<svg")
    assert json.loads((tmp_path / "preset.json").read_text())["name"] == "fig5-two-solutions"


def test_zoom_preset_writes_each_window(small_presets, tmp_path):
    assert main(["preset", "fig4-zoom", "--out", str(tmp_path)]) == 0
    for name, lo, hi in (("interpolation_0-0.01", 0.0, 0.01), ("interpolation_0.99-1", 0.99, 1.0)):
        frame = pd.read_csv(tmp_path / f"{name}.csv")
        assert frame.alpha.min() == lo and frame.alpha.max() == hi and len(frame) == 11


def test_straying_preset_writes_the_trajectory(small_presets, tmp_path):
    assert main(["preset", "fig13-straying", "--out", str(tmp_path)]) == 0
    frame = pd.read_csv(tmp_path / "straying.csv")
    assert list(frame.columns) == ["step", "projection", "residual", "param_norm"]
    assert frame.residual.iloc[0] == pytest.approx(0, abs=1e-9)
    assert frame.residual.iloc[-1] == pytest.approx(0, abs=1e-6)
    assert straying_summary(frame)["max_residual"] > 0


def test_deep_linear_preset_writes_its_line(tmp_path):
    assert main(["preset", "fig10-deep-linear-solutions", "--out", str(tmp_path)]) == 0
    frame = pd.read_csv(tmp_path / "deep_linear.csv")
    assert list(frame.columns) == ["alpha", "numeric", "closed_form"]
    assert (frame.numeric - frame.closed_form).abs().max() < 1e-9
    assert frame.closed_form.iloc[0] == pytest.approx(0, abs=1e-12) and frame.closed_form.max() > 0.1  # a barrier


def test_random_walk_preset_writes_every_dimension(tmp_path):
    assert main(["preset", "fig11-random-walk", "--out", str(tmp_path)]) == 0
    frame = pd.read_csv(tmp_path / "random_walk.csv")
    assert list(frame.columns) == ["dim", "step", "projection", "residual"]
    assert sorted(frame.dim.unique()) == [2, 10, 100, 10_000, 100_000]
    assert (frame.groupby("dim").size() == 1001).all()
