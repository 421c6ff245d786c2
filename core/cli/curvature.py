"""Command-line commands for curvature: spectrum and compare-optimizers.

python -m core spectrum --run DIR [--step N] [--method auto|exact|lanczos|slq] [--top K] [--split train|val] --out DIR
    summary.json: method, lambda_max, lambda_min, index (with index_error), condition_number and its definition.
    eigenvalues.csv (not for slq): index, eigenvalue, method (exact | lanczos), ascending. auto: the exact spectrum
    where the model has at most EXACT_HESSIAN_MAX_PARAMS parameters and its estimated memory is within the budget
    (spectrum.exact_memory_problem; --method exact is refused above it, before the Hessian), else the 10 largest and
    smallest by Lanczos, said in the printed line; with --top K, the K smallest and the K largest by Lanczos. The
    loss is the mean cross-entropy on the whole split at the checkpoint of step N (default: the last).
python -m core compare-optimizers --config CONFIG.json [--set KEY=VALUE ...] --optimizers sgd,newton,...
        [--setting OPTIMIZER.FIELD=VALUE ...] --out DIR [--png] [--svg]
    optimizers.csv: optimizer, step, train_loss, grad_norm, index. Every optimizer starts from the config's θ_i;
    train_loss and grad_norm are of the full training loss at that θ; index is empty for models above
    spectrum.FAST_EXACT_PARAMS parameters.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from core.charts import curvature as curvature_charts
from core.cli.rundir import load_run_dir, save_figures
from core.model.build import model_and_data
from core.model.config import resolve
from core.model.networks import EXACT_HESSIAN_MAX_PARAMS
from core.model.optim import OPTIMIZERS
from core.probes import curvature, spectrum
from core.train import compare

CONDITION_DEFINITION = ("effective-rank condition number: max|λ| / |λ|_(r), the r-th largest |λ| with "
                        "r = ceil((Σ|λ|)² / Σλ²), the participation ratio (definitions §6)")


def _spectrum(loss, theta, method: str, top: int | None):
    """(Spectrum or None, slq Estimate or None) for --method auto, exact, lanczos or slq."""
    if method == "slq":
        return None, spectrum.slq_index(loss, theta)
    if method == "exact":
        return spectrum.exact(loss, theta), None
    if method == "lanczos":
        return spectrum.extremes(loss, theta, 10 if top is None else top), None
    return spectrum.at_point(loss, theta, top), None


def _summary(s, estimate, step: int, split: str, n_params: int) -> dict:
    if estimate is not None:
        return {"method": "slq", "step": step, "split": split, "n_params": n_params,
                "lambda_max": estimate.lambda_max, "lambda_min": estimate.lambda_min, "index": estimate.index,
                "index_error": estimate.error, "condition_number": None, "condition_definition": CONDITION_DEFINITION}
    exact = s.method == "exact"
    return {"method": s.method, "step": step, "split": split, "n_params": n_params, "lambda_max": s.lambda_max,
            "lambda_min": s.lambda_min, "index": s.index if exact else None, "index_error": 0.0 if exact else None,
            "condition_number": s.condition if exact else None, "condition_definition": CONDITION_DEFINITION,
            "effective_rank": s.effective_rank if exact else None, "near_zero_eigenvalues": s.zeros if exact else None}


def cmd_spectrum(args) -> int:
    if args.method in ("exact", "slq") and args.top is not None:
        raise ValueError(f"--top goes with --method lanczos (or auto), not {args.method}")
    record = load_run_dir(args.run)
    step = record.step if args.step is None else args.step
    theta = record.checkpoint(step)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    spec, data = model_and_data(record.config.replace(device="cpu"))
    method = args.method
    too_big = spectrum.exact_memory_problem(spec, data, args.split) if method in ("auto", "exact") else None
    if method == "exact" and too_big:
        raise ValueError(too_big)  # before the Hessian: it would take gigabytes
    if method == "auto" and args.top is None and too_big:
        method = "lanczos"
    s, estimate = _spectrum(spectrum.split_loss(spec, data, args.split), theta, method, args.top)
    summary = _summary(s, estimate, step, args.split, theta.numel())
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if estimate is not None:
        print(f"{record.name} at step {step} ({args.split}): slq, index {estimate.index:.1%} ± {estimate.error:.1%}, "
              f"λ_max ≈ {estimate.lambda_max:.5g}; wrote {out}")
        return 0
    frame = pd.DataFrame({"index": range(len(s.eigenvalues)), "eigenvalue": s.eigenvalues.numpy(),
                          "method": s.method})
    frame.to_csv(out / "eigenvalues.csv", index=False)
    save_figures({"spectrum": curvature_charts.spectrum_chart(s.eigenvalues, s.method, curvature.ZERO_TOL)}, out,
                 args.png, args.svg)
    extra = f", index {s.index:.1%}, condition number {s.condition:.4g}" if s.method == "exact" else ""
    if args.top is None and args.method == "lanczos":  # asked for: nothing was refused, whatever the size
        extra += f" (--method lanczos: the {len(s.eigenvalues) // 2} largest and smallest)"
    elif args.top is None and too_big and s.method != "exact":
        extra += f" (the exact spectrum would take more memory than {spectrum.EXACT_MEMORY_ENV} allows: these are "
        extra += f"the {len(s.eigenvalues) // 2} largest and smallest by Lanczos)"
    elif args.top is None and s.method != "exact":
        extra += f" (above {EXACT_HESSIAN_MAX_PARAMS:,} parameters the exact spectrum is refused: these are the "
        extra += f"{len(s.eigenvalues) // 2} largest and smallest by Lanczos)"
    print(f"{record.name} at step {step} ({args.split}): {s.method}, {len(s.eigenvalues)} eigenvalues of "
          f"{s.n_params:,}; λ_max {s.lambda_max:.5g}, λ_min {s.lambda_min:.5g}{extra}; wrote {out}")
    return 0


def _optimizer_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in OPTIMIZERS]
    if not names or bad:
        raise ValueError(f"--optimizers takes a comma-separated list of {', '.join(OPTIMIZERS)}"
                         + (f"; {bad[0]!r} is not one" if bad else ""))
    if len(set(names)) != len(names):
        raise ValueError("--optimizers lists an optimizer twice")
    return names


def cmd_compare(args) -> int:
    config = resolve(args.config, args.set)
    names = _optimizer_list(args.optimizers)
    frame, messages = compare.compare(config, names, compare.parse_settings(args.setting))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "optimizers.csv", index=False)
    save_figures({"optimizers_loss": curvature_charts.compare_chart(frame, "train_loss", "Training loss",
                                                                    "training loss J(θ)"),
                  "optimizers_grad_norm": curvature_charts.compare_chart(frame, "grad_norm", "Gradient norm",
                                                                         "‖∇J(θ)‖₂")},
                 out, args.png, args.svg)
    for name, message in messages.items():
        print(f"{name}: {message}", file=sys.stderr)
    last = frame.groupby("optimizer", sort=False).last()
    summary = "; ".join(f"{n} {row.train_loss:.4g}" for n, row in last.iterrows())
    print(f"final training loss: {summary}; wrote {out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("spectrum", help="Hessian eigenvalues of a trained run at a checkpoint")
    p.add_argument("--run", required=True, help="a folder written by `python -m core train`")
    p.add_argument("--step", type=int, help="a checkpoint step of the run (default: the last)")
    p.add_argument("--top", type=int, help="the K largest and K smallest eigenvalues by Lanczos")
    p.add_argument("--split", choices=("train", "val"), default="train")
    p.add_argument("--method", choices=("auto", "exact", "lanczos", "slq"), default="auto",
                   help="auto: exact up to the exact-Hessian limit, else Lanczos extremes; slq: the index estimated")
    p.add_argument("--out", required=True)
    p.add_argument("--png", action="store_true", help="also write spectrum.png")
    p.add_argument("--svg", action="store_true", help="also write spectrum.svg")
    p.set_defaults(func=cmd_spectrum)
    c = sub.add_parser("compare-optimizers", help="several optimizers from one initialisation")
    c.add_argument("--config", help="a flat JSON object of config fields (all optional)")
    c.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    c.add_argument("--optimizers", required=True, help="comma-separated, e.g. sgd,momentum,newton,saddle-free,adam")
    c.add_argument("--setting", action="append", default=[], metavar="OPTIMIZER.FIELD=VALUE",
                   help="one optimizer's lr, momentum or damping, e.g. newton.lr=1")
    c.add_argument("--out", required=True)
    c.add_argument("--png", action="store_true")
    c.add_argument("--svg", action="store_true")
    c.set_defaults(func=cmd_compare)
