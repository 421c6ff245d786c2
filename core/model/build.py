"""The network and the data set a config names: the one place both are built from a config."""

from __future__ import annotations

from core.model import data as data_mod
from core.model import networks
from core.model.device import pick_device


def model_and_data(config, device=None):
    """(spec, data) of a run's network and data set, rebuilt from its config (data sets are seeded).

    device: where the data go; the config's device (auto = cuda, then mps, then cpu) when None."""
    data = data_mod.from_config(config, pick_device(config.device) if device is None else device)
    return networks.from_config(config, data.n_features, data.n_classes), data
