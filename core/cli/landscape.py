"""python -m core plane: the loss over the plane through a run's θ_i and θ_f, with its trajectory (definitions §5)."""

from __future__ import annotations

from pathlib import Path

import torch

from core.charts import landscape as lc
from core.cli.rundir import load_run_dir, save_figures
from core.model.build import model_and_data
from core.model.config import check_seed
from core.probes import fig7 as f7
from core.probes import plane as pl
from core.train import replay as rp

GRID_COLUMNS = ["a", "b", "train_loss", "val_loss"]
TRAJECTORY_COLUMNS = ["step", "a", "b", "distance"]


def trajectory_of(record, replay: bool) -> tuple[list[int], torch.Tensor, str]:
    """(steps, thetas (K, P), a note): the run's saved checkpoints, or with replay every logged step, re-trained."""
    steps, thetas = list(record.steps), record.checkpoints
    if len(steps) < 2:
        raise ValueError("the run has a single checkpoint; train it for at least one step first")
    if not replay:
        return steps, thetas, f"{len(steps)} saved checkpoints"
    logged = record.metrics["step"].tolist() if "step" in record.metrics else []
    targets = rp.replay_targets(logged, steps, record.step, thetas.shape[1])
    new_steps, new_thetas = rp.replay(record.config, targets)
    rp.check_replay(new_steps, new_thetas, steps, thetas)
    return new_steps, new_thetas, f"{len(new_steps)} steps replayed (every logged step)"


def cmd_plane(args) -> int:
    check_seed(args.seed)
    if not 2 <= args.grid <= 401:
        raise ValueError(f"--grid must be between 2 and 401 points a side, got {args.grid}")
    if not 0 <= args.span <= 10:
        raise ValueError(f"--span must be between 0 and 10 (a share of ‖θ_f − θ_i‖), got {args.span:g}")
    record = load_run_dir(args.run)
    steps, thetas, note = trajectory_of(record, args.replay)
    spec, data = model_and_data(record.config)
    result = pl.landscape(spec, data, steps, thetas, args.direction, args.seed, args.grid, args.span)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result.grid[GRID_COLUMNS].to_csv(out / "grid.csv", index=False)
    result.trajectory[TRAJECTORY_COLUMNS].to_csv(out / "trajectory.csv", index=False)
    if args.png or args.svg:
        figures = _figures(spec, data, steps, thetas, result)
        save_figures(figures, out, args.png, args.svg)
    h = result.honesty
    print(f"captured variance {h['captured']:.4f} (along θ_f − θ_i {h['captured_d1']:.4f}, along the {args.direction} "
          f"direction {h['captured_d2']:.4f}: {h['off_line_captured']:.1%} of what the line misses)")
    print(f"distance from the plane: mean {h['mean_distance']:.4g}, max {h['max_distance']:.4g} "
          f"({h['mean_share']:.1%} and {h['max_share']:.1%} of ‖θ_f − θ_i‖ = {h['length']:.4g})")
    print(pl.trust_sentence(h))
    print(f"{args.grid} x {args.grid} grid, trajectory of {note}; wrote {out}")
    return 0


def _figures(spec, data, steps, thetas, result: pl.Landscape) -> dict:
    """plane (train loss with the trajectory, 10% threshold) and fig7 (paper Fig. 7 view)."""
    trajectory = result.trajectory.assign(
        loss=pl.losses_at(spec, thetas, data.x_train, data.y_train),
        plane_loss=pl.losses_at(spec, pl.shadows(result.plane, result.trajectory), data.x_train, data.y_train))
    return {"plane": lc.plane_chart(result.grid, trajectory, result.plane.length),
            "fig7": lc.fig7_chart(f7.fig7_frame(spec, steps, thetas, trajectory["loss"]))}


def register(sub) -> None:
    p = sub.add_parser("plane", help="the loss over a plane through θ_i and θ_f, with the trajectory projected on it")
    p.add_argument("--run", required=True, help="a folder written by `python -m core train`")
    p.add_argument("--direction", choices=pl.DIRECTIONS, default="pca",
                   help="second direction: the trajectory's top principal component, or random (filter-normalised)")
    p.add_argument("--grid", type=int, default=41, help="points per side of the grid (2 to 401)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random direction")
    p.add_argument("--span", type=float, default=0.25,
                   help="margin around θ_i, θ_f and the trajectory, as a share of ‖θ_f − θ_i‖")
    p.add_argument("--replay", action="store_true",
                   help="re-train the run to get θ at every logged step instead of its saved checkpoints")
    p.add_argument("--out", required=True, help="folder to write grid.csv and trajectory.csv (and figures) into")
    p.add_argument("--png", action="store_true", help="also write plane.png and fig7.png")
    p.add_argument("--svg", action="store_true", help="also write plane.svg and fig7.svg")
    p.set_defaults(func=cmd_plane)
