"""Pure pandas helpers shared by every layer, charts included: thinning rows for display, running statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_ROWS = 400  # rows of a line chart drawn at most (the first and the last always)
MAX_POINTS = 600  # faint points drawn at most; running statistics use them all
WINDOW = 50  # steps in the running statistics of per-step monitors (gradient norm, eq. 8.10 terms)


def thin_rows(frame: pd.DataFrame, limit: int = MAX_ROWS) -> pd.DataFrame:
    """At most about `limit` evenly spaced rows for drawing, keeping the first and the last."""
    if len(frame) <= limit:
        return frame
    keep = np.unique(np.linspace(0, len(frame) - 1, limit).round().astype(int))
    return frame.iloc[keep]


def running_average(values: pd.Series, window: int) -> pd.Series:
    """Trailing mean over `window` entries (fewer at the start)."""
    return values.rolling(window, min_periods=1).mean()


def running_median(values: pd.Series, window: int) -> pd.Series:
    """Trailing median over `window` entries (fewer at the start): robust to the spikes minibatches give."""
    return values.rolling(window, min_periods=1).median()


def every_nth(frame: pd.DataFrame, limit: int = MAX_POINTS) -> pd.DataFrame:
    """Every k-th row, k chosen so that at most `limit` remain (all of them when there are fewer)."""
    stride = max(1, -(-len(frame) // limit))  # ceil; 1 for an empty frame
    return frame.iloc[::stride]
