"""Random restarts, vectorised: N seeds of one small network trained together, and the fraction that fits per width
(or per sequence length: memory_sweep).

The N parameter vectors are stacked into one (N, P) tensor and every step is one batched forward and one backward
for all of them, on the config's device: for an MLP, torch.baddbmm layer by layer; for any other spec (cnn, rnn,
lstm), torch.func.vmap over networks.loss_fn (the RNN and LSTM take their step-by-step loop, core/model/recurrent.py).
Restart `seed` is the config with that seed: the same θ_init (networks.init_params) and minibatch order (a
torch.Generator seeded seed + 1, one randperm per epoch, the remainder dropped) as Run makes, and the same optimizer
update (optim.OPTIMIZERS: sgd, momentum, nesterov, adam, with clipping and weight decay, each restart's gradient norm
its own). Newton-like optimizers are refused: they need one exact Hessian per restart. A restart whose step would leave
the finite numbers stops there, as Run does.

fits: a classification's restart fits by FIT_RULE (within FIT_MARGIN of the best error at the largest width: noisy
labels leave every network above error 0), or at a fixed max_error when one is given (the memory sweep: 0); a
regression's when its final train MSE is at most max_relative_mse · Var(y_train) (default REGRESSION_FIT = 0.05,
R² ≥ 0.95: on the adding problem, Var = 1/6, MSE ≤ 0.0083; restarts that solve it end near 0.001–0.004, those that do
not near Var, docs/definitions.md §14).

The width sweep trains the same seeds at several widths: width w replaces the width of every hidden layer of the config
(its depth kept, at least one layer); width 0 is logistic regression (hidden = []), the convex baseline where every
restart reaches the same loss. Seeds go out in chunks, the same for the local and the Ray engine, so both give the same
numbers (each chunk is one call of `train_restarts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from core.model import networks
from core.model.build import model_and_data
from core.model.config import MAX_SEED, TrainConfig
from core.model.data import DATASETS, task_of
from core.model.device import pick_device
from core.model.optim import OPTIMIZERS, HyperParams, clip_by_norm

COLUMNS = ["width", "seed", "final_train_loss", "final_train_error", "fits"]
MEMORY_COLUMNS = ["seq_len", "seed", "final_train_loss", "final_train_error", "fits"]
REGRESSION_FIT = 0.05  # a regression fits at train MSE <= REGRESSION_FIT * Var(y_train): R² >= 0.95
FIT_MARGIN = 0.01  # a classification fits within this much train error of the best restart at the largest width
FIT_RULE = ("A restart fits when its final training error is at most {margin} above the lowest that any restart "
            "reached at the largest width trained: on noisy data no network classifies every point, so fitting means "
            "doing as well as the best restart found")
ENGINES = ("local", "ray")
CHUNK = 64  # restarts per vectorised call (and per Ray task)


@dataclass(frozen=True)
class Restarts:
    """Per restart (N,): final train loss and error on the whole training split, fits, diverged (stopped early)."""

    seeds: tuple[int, ...]
    train_loss: torch.Tensor
    train_error: torch.Tensor
    fits: torch.Tensor
    diverged: torch.Tensor
    theta: torch.Tensor  # (N, P) final parameters, on the CPU


class BatchOrder:
    """Minibatch indices (N, B) per step for N seeds, each exactly Run._batch's order for that seed."""

    def __init__(self, seeds: Sequence[int], n: int, batch_size: int, device):
        self.gens = [torch.Generator().manual_seed(s + 1) for s in seeds]
        self.n, self.size, self.device = n, batch_size, device
        self.full = batch_size == 0 or batch_size >= n
        self.order, self.cursor = torch.empty(len(seeds), 0, dtype=torch.long), 0

    def next(self) -> torch.Tensor | None:
        """The next step's indices (N, B), or None for full-batch training."""
        if self.full:
            return None
        if self.cursor + self.size > self.order.shape[1]:
            self.order = torch.stack([torch.randperm(self.n, generator=g) for g in self.gens]).to(self.device)
            self.cursor = 0
        idx = self.order[:, self.cursor : self.cursor + self.size]
        self.cursor += self.size
        return idx


def batched_logits(spec: networks.MLP, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Logits (N, B, n_out) of N stacked parameter vectors theta (N, P) on inputs x (N, B, n_in)."""
    params = spec.split(theta)
    act = networks.ACTIVATIONS[spec.activation]
    z = x
    for k in range(0, len(params), 2):
        if k:
            z = act(z)
        z = torch.baddbmm(params[k + 1].unsqueeze(1), z, params[k].transpose(1, 2))
    return z


def batched_outputs(spec, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Outputs (N, B, n_out) of theta (N, P) on inputs x (N, B, n_in), or on x (B, n_in) shared by all restarts."""
    if spec.kind == "mlp":
        return batched_logits(spec, theta, x if x.dim() == 3 else x.expand(theta.shape[0], *x.shape))
    one = lambda th, xb: networks.forward(spec, spec.split(th), xb)  # noqa: E731
    return torch.func.vmap(one, in_dims=(0, 0 if x.dim() == 3 else None))(theta, x)


def batched_loss(spec, theta, x, y) -> torch.Tensor:
    """Mean loss per restart (N,) of theta (N, P) on x (N, B, n_in), y (N, B): cross-entropy or squared error."""
    if spec.kind != "mlp":
        return torch.func.vmap(lambda th, xb, yb: networks.loss_fn(spec, th, xb, yb))(theta, x, y)
    if spec.task == "regression":
        return (batched_logits(spec, theta, x)[..., 0] - y).square().mean(1)
    logits = batched_logits(spec, theta, x)
    n, b, c = logits.shape
    return F.cross_entropy(logits.reshape(n * b, c), y.reshape(-1), reduction="none").view(n, b).mean(1)


@torch.no_grad()
def batched_evaluate(spec, theta, x, y, chunk: int = 8192) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean loss, error) per restart, float64 (N,), over a whole split x (M, n_in), y (M,): the error rate, or a
    regression's RMSE."""
    n = theta.shape[0]
    loss = torch.zeros(n, dtype=torch.float64, device=theta.device)
    wrong = torch.zeros(n, dtype=torch.float64 if spec.task == "regression" else torch.int64, device=theta.device)
    for i in range(0, len(y), chunk):
        xb, yb = x[i : i + chunk].to(theta.dtype), y[i : i + chunk]
        logits = batched_outputs(spec, theta, xb)
        if spec.task == "regression":
            loss += networks.sample_losses(spec, logits, yb).double().sum(1)
            wrong += networks.sample_errors(spec, logits, yb).sum(1)
            continue
        ce = F.cross_entropy(logits.transpose(1, 2), yb.expand(n, -1), reduction="none")
        loss += ce.double().sum(1)
        wrong += (logits.argmax(-1) != yb).sum(1)
    m = max(len(y), 1)
    return loss / m, networks.finish_error(spec, wrong.double() / m)


def check(config: TrainConfig, seeds: Sequence[int]) -> tuple[int, ...]:
    """The seeds as a tuple, after refusing what vectorised restarts cannot do (ValueError, before any work)."""
    seeds = tuple(int(s) for s in seeds)
    if not seeds or not all(0 <= s <= MAX_SEED for s in seeds):
        raise ValueError(f"give at least one seed, each 0 to {MAX_SEED}")
    if OPTIMIZERS[config.optimizer].needs_hessian:
        raise ValueError(f"{config.optimizer} needs one exact Hessian per restart; vectorised restarts take sgd, "
                         "momentum, nesterov or adam")
    pick_device(config.device)  # a missing cuda or mps is refused here, not inside a Ray task
    return seeds


def fit_rule(margin: float = FIT_MARGIN) -> str:
    """FIT_RULE as one sentence, the margin in percentage points."""
    return FIT_RULE.format(margin=f"{margin * 100:g} percentage point{'' if margin * 100 == 1 else 's'}")


def best_fits(errors, reference, margin: float = FIT_MARGIN):
    """FIT_RULE: errors at most the lowest of `reference` (the largest width's; tensors or Series) plus margin."""
    return errors <= float(reference.min()) + margin + 1e-9  # 1e-9: k/n rates a rounding apart count as equal


def train_restarts(config: TrainConfig, seeds: Sequence[int], max_error: float | None = None,
                   dtype: torch.dtype = torch.float32, device=None,
                   max_relative_mse: float = REGRESSION_FIT) -> Restarts:
    """Train the config once per seed, all seeds at once (see the module's docstring); fits = train error <= max_error
    or, without one, FIT_RULE among these restarts (a classification); train MSE <= max_relative_mse · Var(y_train)
    (a regression).

    device: the config's device when None (auto = cuda when there is one); dtype: float32 as Run, or float64."""
    seeds = check(config, seeds)
    opt = OPTIMIZERS[config.optimizer]
    device = pick_device(config.device) if device is None else torch.device(device)
    spec, data = model_and_data(config, device)
    x, y = data.x_train.to(dtype), data.y_train
    theta = torch.stack([networks.init_params(spec, config.init_scale, s)
                         for s in seeds]).to(device=device, dtype=dtype)
    state = opt.init(theta)
    hp = HyperParams(config.lr, config.momentum, config.damping, config.weight_decay)
    order = BatchOrder(seeds, len(y), config.batch_size, device)
    alive = torch.ones(len(seeds), dtype=torch.bool, device=device)
    for _ in range(config.steps):
        idx = order.next()
        xb, yb = (x.expand(len(seeds), *x.shape), y.expand(len(seeds), -1)) if idx is None else (x[idx], y[idx])
        leaf = theta.detach().requires_grad_()
        loss = batched_loss(spec, leaf, xb, yb)
        (g,) = torch.autograd.grad(loss.sum(), leaf)
        with torch.no_grad():
            g_norm = torch.linalg.vector_norm(g, dim=1, keepdim=True)
            delta, new_state = opt.update(clip_by_norm(g, g_norm, config.clip_norm), state, theta, hp)
            new_theta = theta + delta
            finite = torch.isfinite(loss + g_norm[:, 0] + torch.linalg.vector_norm(new_theta, dim=1))
            alive &= finite
            theta = torch.where(alive[:, None], new_theta, theta)
            state = new_state
    train_loss, train_error = batched_evaluate(spec, theta, x, y)
    if spec.task == "regression":
        fits = train_loss <= max_relative_mse * y.double().var(correction=0).item()
    else:
        fits = best_fits(train_error, train_error, FIT_MARGIN) if max_error is None else train_error <= max_error
    return Restarts(seeds, train_loss.cpu(), train_error.cpu(), fits.cpu(), (~alive).cpu(), theta.detach().cpu())


def with_width(config: TrainConfig, width: int) -> TrainConfig:
    """The config with every hidden layer `width` wide (depth kept, at least one layer); 0 = logistic regression."""
    if not isinstance(width, int) or isinstance(width, bool) or width < 0:
        raise ValueError(f"a width is a whole number >= 0 (0 = logistic regression), got {width!r}")
    return config.replace(hidden=[] if width == 0 else [width] * max(1, len(config.hidden)))


def parse_widths(text: str) -> list[int]:
    """'1,2,4,8' -> [1, 2, 4, 8]; 0 is logistic regression; anything else is a ValueError naming --widths."""
    parts = [p.strip() for p in str(text).split(",")]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(f"--widths takes comma-separated whole numbers such as 1,2,4,8 (0 = logistic "
                         f"regression), got {text!r}")
    widths = [int(p) for p in parts]
    if len(set(widths)) != len(widths):
        raise ValueError(f"--widths lists a width twice: {text!r}")
    return widths


def config_width(config: TrainConfig) -> int:
    """The width of the config's own network: 0 for logistic regression; its layers must share one width."""
    if len(set(config.hidden)) > 1:
        raise ValueError(f"the config's hidden layers {list(config.hidden)} differ in width; give --widths")
    return config.hidden[0] if config.hidden else 0


def chunks(seeds: Sequence[int], size: int = CHUNK) -> list[tuple[int, ...]]:
    """Seeds in consecutive chunks of at most `size`: one vectorised call (one Ray task) each."""
    seeds = tuple(seeds)
    return [seeds[i : i + size] for i in range(0, len(seeds), size)]


def _rows(r: Restarts, **key) -> list[dict]:
    return [{**key, "seed": s, "final_train_loss": float(r.train_loss[i]),
             "final_train_error": float(r.train_error[i]), "fits": bool(r.fits[i])} for i, s in enumerate(r.seeds)]


def sweep_task(config_dict: dict, width: int, seeds: tuple[int, ...], max_error: float | None) -> list[dict]:
    """One chunk of the sweep, from plain data (what a Ray task is handed): the rows of `train_restarts`."""
    from core.model.config import from_dict

    return _rows(train_restarts(with_width(from_dict(config_dict), width), seeds, max_error), width=width)


def sweep(config: TrainConfig, widths: Sequence[int], seeds: Sequence[int], max_error: float | None = None,
          engine: str = "local", chunk: int = CHUNK, margin: float = FIT_MARGIN) -> pd.DataFrame:
    """Every seed at every width: a frame of COLUMNS, one row per (width, seed), in that order. A classification's
    fits: train error <= max_error, or without one FIT_RULE (sweep_fits) with `margin`."""
    if engine not in ENGINES:
        raise ValueError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    for w in widths:
        check(with_width(config, w), seeds)  # every width checked before any training
    if engine == "ray" and ray_missing():
        raise ValueError(ray_missing())
    jobs = [(config.to_dict(), w, part, max_error) for w in widths for part in chunks(seeds, chunk)]
    results = _ray_map(jobs) if engine == "ray" else [sweep_task(*job) for job in jobs]
    frame = pd.DataFrame([row for rows in results for row in rows], columns=COLUMNS)
    if max_error is None and task_of(config) == "classification":
        frame["fits"] = sweep_fits(frame, margin)
    return frame


def sweep_fits(frame: pd.DataFrame, margin: float = FIT_MARGIN) -> pd.Series:
    """FIT_RULE on a sweep's rows: within margin of the lowest train error at the frame's largest width."""
    return best_fits(frame["final_train_error"], frame.loc[frame["width"] == frame["width"].max(),
                                                           "final_train_error"], margin)


def memory_sweep(config: TrainConfig, seq_lens: Sequence[int], seeds: Sequence[int], max_error: float = 0.0,
                 max_relative_mse: float = REGRESSION_FIT, chunk: int = CHUNK) -> pd.DataFrame:
    """Every seed at every sequence length T (the config with seq_len = T, on a sequence data set: adding, copy,
    parity): a frame of MEMORY_COLUMNS, one row per (seq_len, seed), in that order; fits as train_restarts."""
    if "seq_len" not in DATASETS[config.dataset].options:
        raise ValueError(f"a memory sweep varies seq_len, which the {config.dataset} data do not read")
    configs = [config.replace(seq_len=t) for t in seq_lens]  # validated: whole numbers 2 to 200
    for c in configs:
        check(c, seeds)  # every length checked before any training
    return pd.DataFrame([row for c in configs for part in chunks(seeds, chunk)
                         for row in _rows(train_restarts(c, part, max_error, max_relative_mse=max_relative_mse),
                                          seq_len=c.seq_len)], columns=MEMORY_COLUMNS)


def ray_missing() -> str | None:
    """None when Ray can be imported, else the sentence to print."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return "--engine ray needs Ray, which is not installed: pip install ray"
    return None


def _ray_map(jobs: list[tuple]) -> list[list[dict]]:
    """One Ray task per job. When Ray is not yet running: ray.init() (which joins RAY_ADDRESS when it is set), with
    the core package shipped to the workers (runtime_env py_modules), shut down after."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(log_to_driver=False, include_dashboard=False,
                 runtime_env={"py_modules": [str(Path(__file__).resolve().parents[1])]})
    try:
        task = ray.remote(sweep_task)
        return ray.get([task.remote(*job) for job in jobs])
    finally:
        if started:
            ray.shutdown()


def fractions(frame: pd.DataFrame) -> pd.DataFrame:
    """Per width: restarts, the fraction that fits, and the spread of the final train loss (min, max)."""
    grouped = frame.groupby("width", sort=False)
    return pd.DataFrame({"restarts": grouped.size(), "fits": grouped["fits"].mean(),
                         "loss_min": grouped["final_train_loss"].min(),
                         "loss_max": grouped["final_train_loss"].max()}).reset_index()
