"""The command line: python -m core COMMAND ... (README: Command line).

The parser is built from light descriptions (COMMANDS): a command's module, which imports torch and the rest of the
core, is imported only when that command runs, so `python -m core --help` answers at once. Each module's
`register(sub)` stays the one definition of its commands' arguments; a test checks that COMMANDS names the same
commands with the same help, in the same order.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable

from core.cli.outdir import prepare_out, remove_empty

PROG = "python -m core"

# command -> (its module under core.cli, its one-line help): in the order of `--help`, each module's commands together
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("train", "train one run and write its metrics, curves and parameters"),
    "interpolate": ("experiments", "the loss along a line: init → final, final → final, or random → final"),
    "preset": ("experiments", "reproduce one figure of the paper; --list names them"),
    "random-walk": ("paper", "projection vs residual of Gaussian random walks (paper Fig. 11)"),
    "convex-paths": ("paper", "heavy-ball descent on a convex quadratic, projected (Fig. 12)"),
    "deep-linear": ("paper", "J = (w1·w2 − 1)² along a line, closed form and numeric (Figs. 9, 10)"),
    "spectrum": ("curvature", "Hessian eigenvalues of a trained run at a checkpoint"),
    "compare-optimizers": ("curvature", "several optimizers from one initialisation"),
    "surface": ("surface", "race optimizers on an analytic 2-D surface and write their paths"),
    "plane": ("landscape", "the loss over a plane through θ_i and θ_f, with the trajectory projected on it"),
    "permute": ("symmetry", "a run's final θ with its hidden units permuted: same function, far away"),
    "align": ("symmetry", "two runs' final θ, before and after matching B's units to A's"),
    "rescale": ("symmetry", "a ReLU run's final θ with a layer's units rescaled: same function, other λ_max"),
    "align-width": ("symmetry", "the barrier between seeds before and after weight matching, per width"),
    "restarts": ("restarts", "N seeds trained at once per width: the fraction that fits its training set"),
    "gradient-noise": ("noise", "how far minibatch gradients lie from the full gradient, per batch size"),
    "depth-signal": ("noise", "activation std and weight-gradient norm per layer at initialisation"),
    "fetch-mnist": ("data", "download MNIST's four IDX files for dataset=mnist"),
}
MODULES = tuple(dict.fromkeys(module for module, _ in COMMANDS.values()))


def command_module(name: str):
    """The module under core.cli that defines the commands of `name` (a key of MODULES), imported now."""
    return importlib.import_module(f"core.cli.{name}")


def build_parser(load: Iterable[str] = (), prog: str = PROG) -> argparse.ArgumentParser:
    """The parser, with the commands of the modules in `load` registered in full (their modules imported) and every
    other command as a stand-in that carries only its name and help, enough for `--help` and for a wrong name."""
    load = set(load)
    parser = argparse.ArgumentParser(prog=prog, description="The optimizer playground, headless.")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in MODULES:
        if module in load:
            command_module(module).register(sub)
        else:
            for name, (owner, help_text) in COMMANDS.items():
                if owner == module:
                    sub.add_parser(name, help=help_text)
    return parser


def _command_in(argv: list[str]) -> str | None:
    """The command argparse will take: the first argument that is not an option (the top level has only -h)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = COMMANDS.get(_command_in(argv))
    args = build_parser([command[0]] if command else [], prog).parse_args(argv)
    made = []
    try:
        if getattr(args, "out", None) is not None:  # before any work: a bad folder must not waste a training run
            made = prepare_out(args.out)
        return args.func(args)
    except ValueError as exc:
        remove_empty(made)  # a refused command leaves no empty folder behind
        print(f"error: {exc}", file=sys.stderr)
        return 2
