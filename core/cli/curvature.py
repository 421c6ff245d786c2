"""Command-line commands for curvature: spectrum and compare-optimizers.

python -m core spectrum --run DIR [--step N] [--top K] [--split train|val] --out DIR [--png] [--svg]
    eigenvalues.csv: index, eigenvalue, method (exact | lanczos), ascending. Without --top, the exact spectrum
    where the model has at most EXACT_HESSIAN_MAX_PARAMS parameters (else the 10 largest and smallest by
    Lanczos, said in the printed line); with --top K, the K smallest and the K largest by Lanczos. The loss is
    the mean cross-entropy on the whole split at the checkpoint of step N (default: the last).
python -m core compare-optimizers --config CONFIG.json [--set KEY=VALUE ...] --optimizers sgd,newton,...
        [--setting OPTIMIZER.FIELD=VALUE ...] --out DIR [--png] [--svg]
    optimizers.csv: optimizer, step, train_loss, grad_norm, index. Every optimizer starts from the config's θ_i;
    train_loss and grad_norm are of the full training loss at that θ; index is empty for models above
    spectrum.FAST_EXACT_PARAMS parameters.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from core.charts import curvature as curvature_charts
from core.cli.rundir import load_run_dir, save_figures
from core.model.build import model_and_data
from core.model.config import resolve
from core.model.networks import EXACT_HESSIAN_MAX_PARAMS
from core.model.optim import OPTIMIZERS
from core.probes import spectrum
from core.train import compare


def cmd_spectrum(args) -> int:
    record = load_run_dir(args.run)
    step = record.step if args.step is None else args.step
    theta = record.checkpoint(step)
    spec, data = model_and_data(record.config.replace(device="cpu"))
    s = spectrum.at_point(spectrum.split_loss(spec, data, args.split), theta, args.top)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"index": range(len(s.eigenvalues)), "eigenvalue": s.eigenvalues.numpy(),
                          "method": s.method})
    frame.to_csv(out / "eigenvalues.csv", index=False)
    save_figures({"spectrum": curvature_charts.spectrum_chart(s.eigenvalues, s.method)}, out, args.png, args.svg)
    extra = f", index {s.index:.1%}, condition number {s.condition:.4g}" if s.method == "exact" else ""
    if args.top is None and s.method != "exact":
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
