"""Run folders: what `python -m core train` writes, how the other commands read it back, and figure files."""

from __future__ import annotations

import json
from pathlib import Path

import altair as alt
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from core.charts.export import to_png, to_svg
from core.model import config as config_mod
from core.model import records
from core.model.build import model_and_data
from core.model.data import feature_statistics
from core.model.records import checkpoint_arrays
from core.probes.interpolation import alpha_grid, interpolate
from core.train.run import Run


def write_outputs(run: Run, out: Path) -> None:
    """config.json, metrics.csv, interpolation.csv, straying.csv and params.safetensors in out; for data standardised
    with the training split's statistics (a CSV), standardisation.json beside config.json: features, mean and std per
    feature column (data.feature_statistics, which the config alone gives again).

    params.safetensors holds theta_init and theta_final (float32, or the run's dtype), plus `checkpoints` (K, P)
    float32 and `checkpoint_steps` (K,): up to 17 points of the trajectory, the first at step 0 and the last at
    the final step."""
    out.mkdir(parents=True, exist_ok=True)
    c = run.config
    (out / "config.json").write_text(json.dumps(c.to_dict(), indent=2) + "\n", encoding="utf-8")
    if (statistics := feature_statistics(c)) is not None:
        (out / "standardisation.json").write_text(json.dumps(statistics, indent=2) + "\n", encoding="utf-8")
    metrics = run.metrics_frame()
    metrics.to_csv(out / "metrics.csv", index=False)
    alphas = alpha_grid(c.interp_min, c.interp_max, c.interp_points)
    interpolate(run.spec, run.theta_init, run.theta, run.data, alphas).to_csv(out / "interpolation.csv", index=False)
    run.straying_frame().to_csv(out / "straying.csv", index=False)
    steps, thetas = run.trajectory.view()
    steps, checkpoints = checkpoint_arrays(steps, thetas, run.theta, run.step)
    save_file({"theta_init": run.theta_init.cpu().contiguous(), "theta_final": run.theta.cpu().contiguous(),
               "checkpoints": torch.from_numpy(checkpoints), "checkpoint_steps": torch.tensor(steps)},
              str(out / "params.safetensors"), metadata={"config": json.dumps(c.to_dict()), "step": str(run.step)})


def load_run_dir(path: str) -> records.RunRecord:
    """A record (theta_init and theta_final) of a folder written by `python -m core train`."""
    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"run folder {path!r} does not exist")
    config = config_mod.from_dict(config_mod.load_json(str(folder / "config.json")))
    try:
        params = load_file(str(folder / "params.safetensors"))
    except FileNotFoundError:
        raise ValueError(f"{path!r} has no params.safetensors; is it the output of `python -m core train`?") from None
    except (SafetensorError, OSError) as exc:
        raise ValueError(f"{path}/params.safetensors cannot be read: {exc}") from None
    if "theta_init" not in params or "theta_final" not in params:
        raise ValueError(f"{path}/params.safetensors must hold theta_init and theta_final")
    spec, _ = model_and_data(config.replace(device="cpu"))
    theta0, theta1 = params["theta_init"].float().reshape(-1), params["theta_final"].float().reshape(-1)
    if len(theta0) != spec.n_params or len(theta1) != spec.n_params:
        raise ValueError(f"{path}/params.safetensors holds {len(theta1):,} parameters, but its config's network "
                         f"has {spec.n_params:,}")
    if not (torch.isfinite(theta0).all() and torch.isfinite(theta1).all()):
        raise ValueError(f"{path}/params.safetensors holds non-finite parameters (NaN or inf): the run diverged or "
                         "the file is damaged, so no curve can be drawn from it")
    steps, thetas = _checkpoints(path, params, theta0, theta1)
    metrics = pd.read_csv(folder / "metrics.csv") if (folder / "metrics.csv").is_file() else pd.DataFrame()
    return records.from_arrays(folder.name or path, config, "done", steps, thetas, metrics, pd.DataFrame())


def _checkpoints(path: str, params: dict, theta0: torch.Tensor, theta1: torch.Tensor):
    """(steps, (K, P) array) of the saved trajectory; folders from before checkpoints were saved give (0, 1)."""
    if "checkpoints" not in params or "checkpoint_steps" not in params:
        return (0, 1), torch.stack([theta0, theta1]).numpy()
    thetas, steps = params["checkpoints"].float(), params["checkpoint_steps"].reshape(-1).tolist()
    if thetas.ndim != 2 or thetas.shape != (len(steps), len(theta0)) or steps != sorted(set(steps)) or steps[0] != 0:
        raise ValueError(f"{path}/params.safetensors has malformed checkpoints: expected (K, {len(theta0):,}) "
                         "parameters at K increasing steps starting at 0")
    return steps, thetas.numpy()


def save_figures(charts: dict[str, alt.TopLevelMixin], out: Path, png: bool, svg: bool) -> None:
    """NAME.png and/or NAME.svg for each chart, drawn by vl-convert."""
    for name, chart in charts.items():
        if png:
            (out / f"{name}.png").write_bytes(to_png(chart))
        if svg:
            (out / f"{name}.svg").write_text(to_svg(chart), encoding="utf-8")


def figure_options(parser) -> None:
    """--png and --svg: also write each figure as PNG or SVG (the app's chart functions)."""
    parser.add_argument("--png", action="store_true", help="also write the figure as PNG")
    parser.add_argument("--svg", action="store_true", help="also write the figure as SVG")
