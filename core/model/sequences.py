"""Sequence tasks whose difficulty is a memory length T (config seq_len): adding, copy (recall), parity.

Each generator returns (x (n, T, d) float32, y (n,)); data.make_dataset flattens x to (n, T·d) and keeps (T, d) as
the data set's input_shape, which recurrent.RNN and LSTM read back. Deterministic given the numpy generator (the
config's data_seed). The noise setting is not used. Definitions: docs/definitions.md, the last section.
"""

from __future__ import annotations

import numpy as np

COPY_SYMBOLS = 4  # K: the copy task's alphabet
PARITY_BITS = 2  # k: parity of the first k bits


def adding(n: int, noise: float, rng: np.random.Generator, seq_len: int = 20):
    """The adding problem, the variant of Le, Jaitly & Hinton (2015) and Arjovsky et al. (2016) after Hochreiter &
    Schmidhuber (1997): per step a value u_t ~ U(0, 1) and a marker m_t in {0, 1}; exactly two markers, one at a
    uniform step of the first half [0, ⌊T/2⌋) and one of the second half [⌊T/2⌋, T). y = the sum of the two marked
    values (float: a regression). Predicting the mean, 1, scores MSE Var(y) = 1/6."""
    t = seq_len
    values = rng.uniform(0.0, 1.0, (n, t))
    first = rng.integers(0, t // 2, n)
    second = rng.integers(t // 2, t, n)
    markers = np.zeros((n, t))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=2)
    y = values[rows, first] + values[rows, second]
    return x.astype(np.float32), y.astype(np.float64)


def copy(n: int, noise: float, rng: np.random.Generator, seq_len: int = 20):
    """Recall: a symbol s in {0..K−1} (K = COPY_SYMBOLS; each ⌊n/K⌋ or ⌈n/K⌉ times, in seeded random order)
    one-hot at step 0, then T − 1 blank (all-zero) steps; y = s, read after the last step (a classification of K
    classes: the memory needed is T)."""
    symbols = rng.permutation(np.arange(n) % COPY_SYMBOLS)  # balanced: every symbol n/K times (give or take one)
    x = np.zeros((n, seq_len, COPY_SYMBOLS), dtype=np.float32)
    x[np.arange(n), 0, symbols] = 1.0
    return x, symbols.astype(np.int64)


def parity(n: int, noise: float, rng: np.random.Generator, seq_len: int = 20):
    """Parity of the first k bits: T random bits b_t in {0, 1} (one input per step), y = b_0 XOR ... XOR b_{k−1},
    k = min(PARITY_BITS, T); the T − k later bits are distractors the state must carry the answer through."""
    bits = rng.integers(0, 2, (n, seq_len))
    k = min(PARITY_BITS, seq_len)
    y = bits[:, :k].sum(1) % 2
    return bits[:, :, None].astype(np.float32), y.astype(np.int64)


SEQUENCE_TASKS = {
    "adding": (adding, "the adding problem: T steps of (value, marker), predict the sum of the two marked values "
                       "(regression; sequences = points, T = seq_len, noise unused)"),
    "copy": (copy, f"recall: one of {COPY_SYMBOLS} symbols at step 0, then T − 1 blanks; name the symbol "
                   f"({COPY_SYMBOLS} classes; sequences = points, T = seq_len, noise unused)"),
    "parity": (parity, f"T random bits, the parity of the first {PARITY_BITS} (2 classes; sequences = points, "
                       f"T = seq_len, noise unused)"),
}
"""name -> (generator, description), for data.DATASETS."""
