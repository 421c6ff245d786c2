"""Command-line commands for the interpolation experiments and the figure presets: interpolate, preset."""

from __future__ import annotations

import json
from pathlib import Path

from core import claims, presets
from core.charts import training as charts
from core.claims import Evidence
from core.cli import paper as cli_paper
from core.cli import symmetry as cli_symmetry
from core.cli.rundir import figure_options, load_run_dir, save_figures, write_outputs
from core.model import records
from core.model.config import check_seed
from core.model.data import task_of
from core.probes import endpoints
from core.probes.interpolation import PAST_ENDS, alpha_grid
from core.probes.straying import straying_summary
from core.toys import comparators, deep_linear
from core.train.run import Run
from core.train.summaries import curvature_points, grad_norm_points

CURVE_COLUMNS = ["alpha", "train_loss", "val_loss", "train_error", "val_error"]


def cmd_interpolate(args) -> int:
    check_seed(args.seed)
    if args.to and args.random_norm is not None:
        raise ValueError("give --to or --random-norm, not both")
    run = load_run_dir(args.run)
    if args.to:
        pair = endpoints.final_to_final(run, load_run_dir(args.to))
    elif args.random_norm is not None:
        pair = endpoints.random_to_final(run, args.random_norm, args.seed)
    else:
        pair = endpoints.init_to_final(run)
    if not args.alpha_min < args.alpha_max:
        raise ValueError(f"--alpha-min ({args.alpha_min:g}) must be below --alpha-max ({args.alpha_max:g})")
    if not 2 <= args.points <= 100_000:
        raise ValueError(f"--points must be between 2 and 100,000, got {args.points}")
    alphas = alpha_grid(args.alpha_min, args.alpha_max, args.points)
    frame = endpoints.curves([pair], alphas)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frame[CURVE_COLUMNS].to_csv(out / "interpolation.csv", index=False)
    regression = task_of(run.config) == "regression"
    save_figures({"interpolation": charts.curves_chart(frame, title=pair.label, regression=regression)}, out,
                 args.png, args.svg)
    table = endpoints.curve_table(frame)
    table.drop(columns="curve").to_csv(out / "curve_metrics.csv", index=False)
    ends = endpoints.end_table(endpoints.curves([pair], PAST_ENDS))
    for row, end in zip(table.itertuples(), ends.itertuples(), strict=True):
        print(f"{row.split}: monotone {row.monotone}, max bump {row.max_bump:.4g} at α = {row.bump_alpha:.4g}, "
              f"barrier {row.barrier:.4g}, falls past α = 1 by {end.falls_after_1:.3g}, before α = 0 by "
              f"{end.falls_before_0:.3g}")
    print(f"{pair.label}: {len(alphas)} points; wrote {out}")
    return 0


# ---- presets ------------------------------------------------------------------------------------------------
def _train(preset, out: Path, seed: int = 0) -> list[records.RunRecord]:
    """Train the preset's runs in this process (each run's seed + `seed`); their outputs go to out/runs/runN."""
    return [records.from_run(run, name) for name, run in _trained(preset, out, seed)]


def _trained(preset, out: Path, seed: int) -> list[tuple[str, Run]]:
    kept = []
    for i, config in enumerate(preset.configs(), start=1):
        config = config.replace(seed=config.seed + seed)
        run = Run(config)
        run.train()
        name = records.short_name(config, i)
        print(f"trained {name}: {run.step} steps, {run.status}", flush=True)
        if run.status != "done":
            raise ValueError(f"{name} did not finish: {run.message}")
        kept.append((name, run))
        write_outputs(run, out / "runs" / f"run{i}")
    return kept


def _train_preset(preset, out: Path, seed: int) -> Evidence:
    """A Train-page preset (Fig. 8.1): its run, with the monitors the page draws as the claims' evidence."""
    _, run = _trained(preset, out, seed)[0]
    points = run.points_frame()
    return presets.monitor_evidence(run.metrics_frame(), grad_norm_points(points), curvature_points(points))


def _interpolation_preset(preset, out: Path, png: bool, svg: bool, seed: int) -> Evidence:
    kept = _train(preset, out, seed)
    view = preset.view
    pairs = presets.pairs_for(view, kept)
    quantity, splits = view.get("ip_quantity", "loss"), view.get("ip_splits", ["train", "validation"])
    for title, alphas in presets.grids(view).items():
        frame = endpoints.curves(pairs, alphas)
        name = "interpolation" if title == "main" else f"interpolation_{title.replace('–', '-')}"
        frame.to_csv(out / f"{name}.csv", index=False)
        if title == "main":
            endpoints.curve_table(frame, quantity).to_csv(out / "curve_metrics.csv", index=False)
        chart = charts.curves_chart(frame, quantity, splits, bool(view.get("ip_log")), title=preset.title,
                                    regression=any(task_of(r.config) == "regression" for r in kept))
        save_figures({name: chart}, out, png, svg)
    return presets.evidence(preset, kept)


def _minima_preset(preset, out: Path, png: bool, svg: bool, seed: int) -> Evidence:
    return cli_symmetry.minima_preset(preset, _train(preset, out, seed), out, png, svg)


def _straying_preset(preset, out: Path, png: bool, svg: bool, seed: int) -> Evidence:
    view = preset.view
    if view.get("st_view") == "run":
        record = _train(preset, out, seed)[0]
        record.straying.to_csv(out / "straying.csv", index=False)
        s = straying_summary(record.straying)
        print(f"max residual {s['max_residual']:.4g}, max rho {s['max_rho']:.3f}, "
              f"2/3 of the norm kept: {s['two_thirds_holds']}")
        save_figures({"straying": charts.straying_chart(record.straying),
                      "straying_rho": charts.rho_chart(record.straying)}, out, png, svg)
        return presets.evidence(preset, [record])
    if view.get("st_view") == "random-walk":
        frame = cli_paper.write_random_walk(out, comparators.parse_dims(view["rw_dims"]), png=png, svg=svg)
        print(comparators.random_walk_summary(frame, 900).to_string(index=False))
    else:
        problem, _, summary = cli_paper.write_convex_paths(out, png=png, svg=svg)
        print(f"condition number {problem.condition:g}")
        print(summary.to_string(index=False))
    return presets.evidence(preset, [])


def _deep_linear_preset(preset, out: Path, png: bool, svg: bool, seed: int) -> Evidence:
    _, start, end = deep_linear.LINES[preset.view["dl_line"]]
    frame = cli_paper.write_deep_linear(out, start, end, png=png, svg=svg)
    m = deep_linear.line_metrics(frame)
    print(", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in m.items()))
    return presets.evidence(preset, [])


def cmd_preset(args) -> int:
    check_seed(args.seed)
    if args.list or not args.name:
        for p in presets.PRESETS.values():
            print(f"{p.name:30s} {p.figure:15s} {p.title}")
        return 0
    preset = presets.get(args.name)
    if not args.out:
        raise ValueError("--out is required to run a preset")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "preset.json").write_text(json.dumps({"name": preset.name, "figure": preset.figure, "title": preset.title,
                                                 "caption": preset.caption, "runs": list(preset.runs),
                                                 "view": preset.view}, indent=2) + "\n", encoding="utf-8")
    if preset.page == "train":
        evidence = _train_preset(preset, out, args.seed)
    else:
        page = {"interpolation": _interpolation_preset, "straying": _straying_preset,
                "minima": _minima_preset}.get(preset.page, _deep_linear_preset)
        evidence = page(preset, out, args.png, args.svg, args.seed)
    verdicts = claims.check(preset.claims, evidence)
    (out / "claims.json").write_text(json.dumps([{"claim": v.claim.text, "value": v.value, "op": v.claim.op,
                                                  "bound": v.claim.bound, "holds": v.holds} for v in verdicts],
                                                indent=2) + "\n", encoding="utf-8")
    print(f"{preset.figure}: {preset.caption}")
    print("\n".join(v.line for v in verdicts))
    print(f"wrote {out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("interpolate", help="the loss along a line: init → final, final → final, or random → final")
    p.add_argument("--run", required=True, help="a folder written by `python -m core train`")
    p.add_argument("--to", help="a second run folder: interpolate final → final (same network and data)")
    p.add_argument("--random-norm", type=float, help="start at a random point of this norm instead of theta_init")
    p.add_argument("--seed", type=int, default=0, help="seed of the random point")
    p.add_argument("--alpha-min", type=float, default=0.0)
    p.add_argument("--alpha-max", type=float, default=1.0)
    p.add_argument("--points", type=int, default=101)
    p.add_argument("--out", required=True, help="folder to write interpolation.csv (and figures) into")
    figure_options(p)
    p.set_defaults(func=cmd_interpolate)
    p = sub.add_parser("preset", help="reproduce one figure of the paper; --list names them")
    p.add_argument("name", nargs="?", help="a preset name (see --list)")
    p.add_argument("--list", action="store_true", help="list the presets")
    p.add_argument("--out", help="folder to write into")
    p.add_argument("--seed", type=int, default=0, help="add this to every run's seed (claims on other seeds)")
    figure_options(p)
    p.set_defaults(func=cmd_preset)
