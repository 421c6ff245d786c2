"""Command-line commands for the paper's synthetic comparators: random-walk, convex-paths, deep-linear.

Each command's work is a plain write_* function as well, for callers other than argparse (a preset runner).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.charts import comparators as cc
from core.cli.rundir import save_figures
from core.model.config import check_seed
from core.probes.interpolation import alpha_grid
from core.toys import comparators, deep_linear


def write_random_walk(out: Path, dims: list[int], steps: int = 1000, solution_step: int = 900, seed: int = 0,
                      png: bool = False, svg: bool = False) -> pd.DataFrame:
    """random_walk.csv (dim, step, projection, residual) in out, and the figure if asked."""
    frame = comparators.random_walk(dims, steps, solution_step, seed)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "random_walk.csv", index=False)
    if png or svg:
        save_figures({"random_walk": cc.random_walk_chart(frame, solution_step)}, out, png, svg)
    return frame


def write_convex_paths(out: Path, dim: int = 100_000, settings: list[tuple[float, float]] | None = None,
                       condition: float = 100.0, max_steps: int = 20_000, seed: int = 0, png: bool = False,
                       svg: bool = False) -> tuple[comparators.ConvexProblem, pd.DataFrame, pd.DataFrame]:
    """convex_paths.csv (setting, step, projection, residual) and convex_summary.csv in out, and the figure."""
    settings = settings or comparators.parse_settings(comparators.DEFAULT_SETTINGS)
    problem = comparators.convex_problem(dim, condition, seed)
    paths, summary = comparators.convex_paths(problem, settings, max_steps)
    out.mkdir(parents=True, exist_ok=True)
    paths.to_csv(out / "convex_paths.csv", index=False)
    summary.to_csv(out / "convex_summary.csv", index=False)
    drawn = paths[paths["setting"].isin(summary.loc[summary["converged"], "setting"])]  # diverged: off the scale
    if (png or svg) and not drawn.empty:
        save_figures({"convex_paths": cc.convex_paths_chart(drawn)}, out, png, svg)
    return problem, paths, summary


def write_deep_linear(out: Path, start: tuple[float, float], end: tuple[float, float], points: int = 101,
                      alpha_min: float = 0.0, alpha_max: float = 1.0, png: bool = False,
                      svg: bool = False) -> pd.DataFrame:
    """deep_linear.csv (alpha, numeric, closed_form) along start → end in out, and the line and surface figures."""
    if not 2 <= points <= deep_linear.MAX_POINTS:
        raise ValueError(f"the number of points must be from 2 to {deep_linear.MAX_POINTS:,}, got {points}.")
    if not alpha_min < alpha_max:
        raise ValueError(f"the α range must go up, got --alpha-min {alpha_min:g} and --alpha-max {alpha_max:g}.")
    frame = deep_linear.line_frame(start, end, alpha_grid(alpha_min, alpha_max, points))
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "deep_linear.csv", index=False)
    if png or svg:
        surface = deep_linear.surface_frame(deep_linear.view_extent(start, end))
        save_figures({"deep_linear": cc.deep_linear_line_chart(frame),
                      "deep_linear_surface": cc.deep_linear_surface_chart(
                          surface, deep_linear.minima_in_view(surface), start, end)}, out, png, svg)
    return frame



def cmd_random_walk(args) -> int:
    check_seed(args.seed)
    frame = write_random_walk(Path(args.out), comparators.parse_dims(args.dims), args.steps, args.solution_step,
                              args.seed, args.png, args.svg)
    for row in comparators.random_walk_summary(frame, args.solution_step).itertuples():
        print(f"d = {row.dim:,}: max residual {row.max_residual:.4g} at step {row.max_residual_step}, "
              f"‖θ_{args.solution_step}‖ = {row.solution_norm:.4g}, ratio {row.ratio:.3f}")
    print(f"wrote {args.out}")
    return 0


def cmd_convex_paths(args) -> int:
    check_seed(args.seed)
    problem, _, summary = write_convex_paths(Path(args.out), args.dim, comparators.parse_settings(args.settings),
                                             args.condition, args.steps, args.seed, args.png, args.svg)
    print(f"dimension {args.dim:,}, condition number {problem.condition:.6g}")
    for row in summary.itertuples():
        state = "converged" if row.converged else "did NOT converge"
        print(f"{row.setting}: {state} after {row.steps:,} steps, max residual {row.max_residual:.4g}, "
              f"final distance {row.final_distance:.3g}")
    failed = summary.loc[~summary["converged"], "setting"].tolist()
    print("did not converge: " + (", ".join(failed) if failed else "none") + f"; wrote {args.out}")
    return 0


def cmd_deep_linear(args) -> int:
    start = deep_linear.parse_point(args.start, "--from point")
    end = deep_linear.parse_point(args.end, "--to point")
    frame = write_deep_linear(Path(args.out), start, end, args.points, args.alpha_min, args.alpha_max, args.png,
                              args.svg)
    m = deep_linear.line_metrics(frame)
    print(f"monotone on [0, 1]: {m['monotone']}, max bump {m['max_bump']:.4g} at α = {m['bump_alpha']:.4g}, "
          f"barrier {m['barrier']:.4g}, max |numeric − closed form| {m['max_abs_diff']:.2e}; wrote {args.out}")
    return 0


def _figures(parser) -> None:
    parser.add_argument("--out", required=True, help="folder to write into")
    parser.add_argument("--png", action="store_true", help="also write the figure(s) as PNG")
    parser.add_argument("--svg", action="store_true", help="also write the figure(s) as SVG")


def register(sub) -> None:
    """Add this module's subcommands to the `python -m core` parser."""
    walk = sub.add_parser("random-walk", help="projection vs residual of Gaussian random walks (paper Fig. 11)")
    walk.add_argument("--dims", default="2,10,100,10000,100000", help="comma-separated dimensions")
    walk.add_argument("--steps", type=int, default=1000)
    walk.add_argument("--solution-step", type=int, default=900, help="the step that plays the solution")
    walk.add_argument("--seed", type=int, default=0)
    _figures(walk)
    walk.set_defaults(func=cmd_random_walk)

    convex = sub.add_parser("convex-paths", help="heavy-ball descent on a convex quadratic, projected (Fig. 12)")
    convex.add_argument("--dim", type=int, default=100_000)
    convex.add_argument("--settings", default=comparators.DEFAULT_SETTINGS,
                        help="comma-separated ε:μ pairs, e.g. 0.1:0,0.1:0.9")
    convex.add_argument("--condition", type=float, default=100.0, help="largest / smallest curvature")
    convex.add_argument("--steps", type=int, default=20_000, help="step limit per setting")
    convex.add_argument("--seed", type=int, default=0, help="seeds θ* and θ_0")
    _figures(convex)
    convex.set_defaults(func=cmd_convex_paths)

    line = sub.add_parser("deep-linear", help="J = (w1·w2 − 1)² along a line, closed form and numeric (Figs. 9, 10)")
    line.add_argument("--from", dest="start", required=True, metavar="W1,W2",
                      help="the start point (α = 0); write --from=-3,2.5 when it starts with a minus")
    line.add_argument("--to", dest="end", required=True, metavar="W1,W2", help="the end point (α = 1)")
    line.add_argument("--points", type=int, default=101)
    line.add_argument("--alpha-min", type=float, default=0.0)
    line.add_argument("--alpha-max", type=float, default=1.0)
    _figures(line)
    line.set_defaults(func=cmd_deep_linear)
