"""The network and the data set a config names: the one place both are built from a config."""

from __future__ import annotations

from core.model import data as data_mod
from core.model import networks
from core.model.device import pick_device


def model_and_data(config, device=None):
    """(spec, data) of a run's network and data set, rebuilt from its config (data sets are seeded).

    device: where the data go; the config's device (auto = cuda, then mps, then cpu) when None."""
    data = data_mod.from_config(config, pick_device(config.device) if device is None else device)
    return spec_for(config, data), data


def spec_for(config, data):
    """The network of a config for a data set: an MLP, a CNN over the data's input layout, or an RNN or LSTM over
    its sequences (input shape (T, d))."""
    if config.model == "cnn":
        from core.model.cnn import CNN

        if not data.input_shape:
            raise ValueError(f"a cnn needs images or signals; the {data.name} data have {data.n_features} features "
                             "without a layout")
        return CNN(data.input_shape, tuple(config.channels), data.n_outputs, data.task)
    if config.model in ("rnn", "lstm"):
        from core.model import recurrent

        return recurrent.from_config(config, data.input_shape, data.n_outputs, data.task)
    return networks.from_config(config, data.n_features, data.n_outputs, data.task)
