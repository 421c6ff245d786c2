"""Recurrent networks (tanh RNN, LSTM) whose parameters are one flat vector theta (P,), in networks.MLP's contract.

Inputs arrive flat (N, T·d) and are read as sequences (N, T, d), batch first. From h_0 = 0 (and c_0 = 0) one layer
runs over the T steps; the output is a linear readout of the last hidden state h_T: logits (N, n_out), or the
prediction (N, 1) of a regression.

theta holds weight_ih_l0 (G·H, d), weight_hh_l0 (G·H, H), bias_ih_l0 (G·H,), bias_hh_l0 (G·H,), then the readout's
weight (n_out, H) and bias (n_out,): torch.nn.RNN / nn.LSTM's layout then nn.Linear's, G = 1 (RNN) or 4 (LSTM,
gate order i, f, g, o).

Two paths compute the same function. The fused one calls ATen's torch.rnn_tanh / torch.lstm with views of theta
(what nn.RNN / nn.LSTM call; float32 LSTM on a CPU runs oneDNN's kernel): autograd and double backward (Hessian-vector
products) go through it. Neither kernel has a vmap batching rule, and oneDNN's LSTM has no forward-mode AD, so inside
any torch.func transform (vmap, grad, jvp, hessian) `forward` takes the step-by-step loop of plain tensor ops instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F


def in_functorch() -> bool:
    """Whether a torch.func transform (vmap, grad, jvp, hessian, ...) is running around this call."""
    return torch._C._functorch.peek_interpreter_stack() is not None


@dataclass(frozen=True)
class RNN:
    """A one-layer tanh RNN, h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), and a linear readout of h_T."""

    input_size: int
    seq_len: int
    hidden_size: int
    n_out: int
    task: str = "classification"
    kind: ClassVar[str] = "rnn"
    gates: ClassVar[int] = 1

    def __post_init__(self) -> None:
        for name in ("input_size", "seq_len", "hidden_size", "n_out"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"the {self.kind.upper()}'s {name} must be a whole number >= 1, got {value!r}")

    @property
    def n_in(self) -> int:
        """D = T·d of the flat inputs (N, D)."""
        return self.seq_len * self.input_size

    @property
    def shapes(self) -> list[tuple[tuple[int, int], tuple[int]]]:
        """(weight shape, bias shape) of the input map, the recurrent map and the readout. theta's order differs:
        weight_ih, weight_hh, bias_ih, bias_hh, readout weight, readout bias (`split`)."""
        gh, h = self.gates * self.hidden_size, self.hidden_size
        return [((gh, self.input_size), (gh,)), ((gh, h), (gh,)), ((self.n_out, h), (self.n_out,))]

    @property
    def layout(self) -> list[tuple[int, ...]]:
        """The shapes of split's tensors, in theta's order."""
        (w_ih, b_ih), (w_hh, b_hh), (w, b) = self.shapes
        return [w_ih, w_hh, b_ih, b_hh, w, b]

    @property
    def n_params(self) -> int:
        return sum(math.prod(s) for s in self.layout)

    def init_bounds(self) -> list[float]:
        """networks.init_params' bound per entry of `shapes` (scale 1): nn.RNN / nn.LSTM draw every recurrent weight
        and bias from U(−1/√H, 1/√H), nn.Linear(H, n_out) its readout from the same range (fan_in H)."""
        return [1 / math.sqrt(self.hidden_size)] * 3

    def split(self, theta: torch.Tensor) -> list[torch.Tensor]:
        """Views [weight_ih, weight_hh, bias_ih, bias_hh, W, b] into theta (P,), or into a batch (..., P)."""
        out, at = [], 0
        lead = theta.shape[:-1]
        for shape in self.layout:
            n = math.prod(shape)
            out.append(theta[..., at : at + n].view(*lead, *shape))
            at += n
        return out

    def sequences(self, x: torch.Tensor) -> torch.Tensor:
        """Flat inputs (N, T·d) as sequences (N, T, d)."""
        return x.reshape(x.shape[0], self.seq_len, self.input_size)

    # ---- the fused path ------------------------------------------------------------------------------
    def _fused(self, params: list[torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(all hidden states (N, T, H), h_T (N, H)) by ATen's kernel."""
        xs = self.sequences(x)
        h0 = xs.new_zeros(1, xs.shape[0], self.hidden_size)
        weights, train = list(params[:4]), torch.is_grad_enabled()
        if self.gates == 4:
            out, h, _ = torch.lstm(xs, (h0, h0), weights, True, 1, 0.0, train, False, True)
        else:
            out, h = torch.rnn_tanh(xs, h0, weights, True, 1, 0.0, train, False, True)
        return out, h[0]

    # ---- the loop path -------------------------------------------------------------------------------
    def cell(self, params: list[torch.Tensor], x_t: torch.Tensor, state, projected: bool = False):
        """One step from state h (RNN) or (h, c) (LSTM): the new state. Plain tensor ops, fine under torch.func.
        projected: x_t is already W_ih x_t + b_ih (loop_states projects all steps at once)."""
        w_ih, w_hh, b_ih, b_hh = params[:4]
        h = state if self.gates == 1 else state[0]
        z = (x_t if projected else F.linear(x_t, w_ih, b_ih)) + F.linear(h, w_hh, b_hh)
        if self.gates == 1:
            return torch.tanh(z)
        i, f, g, o = z.chunk(4, dim=-1)
        c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    def loop_states(self, params: list[torch.Tensor], x: torch.Tensor) -> list[torch.Tensor]:
        """[h_1, ..., h_T], each (N, H), step by step: separate tensors, so autograd can reach each one."""
        xs = F.linear(self.sequences(x), params[0], params[2])  # W_ih x_t + b_ih for every t at once: (N, T, G·H)
        h = xs.new_zeros(xs.shape[0], self.hidden_size)
        state = h if self.gates == 1 else (h, h)
        out = []
        for t in range(self.seq_len):
            state = self.cell(params, xs[:, t], state, projected=True)
            out.append(state if self.gates == 1 else state[0])
        return out

    # ---- the contract --------------------------------------------------------------------------------
    def forward(self, params: list[torch.Tensor], x: torch.Tensor, fused: bool | None = None) -> torch.Tensor:
        """Outputs (N, n_out) for flat inputs x (N, T·d): the readout of h_T. fused None: the fused kernel, except
        inside a torch.func transform (the loop); True or False forces one."""
        if fused is None:
            fused = not in_functorch()
        h_last = self._fused(params, x)[1] if fused else self.loop_states(params, x)[-1]
        return F.linear(h_last, params[4], params[5])

    def states(self, params: list[torch.Tensor], x: torch.Tensor, fused: bool | None = None) -> torch.Tensor:
        """All hidden states (N, T, H): h_1 ... h_T (for the LSTM its outputs h_t, not the cells c_t)."""
        if fused is None:
            fused = not in_functorch()
        return self._fused(params, x)[0] if fused else torch.stack(self.loop_states(params, x), dim=1)

    def describe(self) -> str:
        """A short label, e.g. 'RNN 20 steps × 2 → 32 → 1'."""
        return f"{self.kind.upper()} {self.seq_len} steps × {self.input_size} → {self.hidden_size} → {self.n_out}"


@dataclass(frozen=True)
class LSTM(RNN):
    """A one-layer LSTM (gates i, f, g, o; c_t = σ(f)c_{t−1} + σ(i)tanh(g), h_t = σ(o)tanh(c_t)), readout of h_T."""

    kind: ClassVar[str] = "lstm"
    gates: ClassVar[int] = 4


RECURRENT = {"rnn": RNN, "lstm": LSTM}


def from_config(config, input_shape: tuple[int, ...], n_out: int, task: str = "classification") -> RNN:
    """The RNN or LSTM a TrainConfig names for sequences of input_shape (T, d); H = config.hidden[0]."""
    if len(input_shape) != 2:
        raise ValueError(f"an {config.model} needs sequences (steps, features per step), got input shape "
                         f"{tuple(input_shape)}")
    if len(config.hidden) != 1:
        raise ValueError(f"an {config.model} has one state size: hidden must hold exactly one width, got "
                         f"{list(config.hidden)}")
    seq_len, d = input_shape
    return RECURRENT[config.model](d, seq_len, config.hidden[0], n_out, task)
