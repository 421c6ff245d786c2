"""The training config: one flat, frozen dataclass shared by the app, its URL and the CLI."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, fields

from core.model.data import DATASETS
from core.model.device import DEVICES
from core.model.networks import ACTIVATIONS
from core.model.optim import OPTIMIZERS

MAX_WIDTH = 1024
MAX_DEPTH = 6
MAX_SEED = 2**31 - 2
MAX_CONV_BLOCKS, MAX_CHANNELS = 3, 64
MODELS = {"mlp": "a fully connected network: `hidden` widths and an `activation` (the default)",
          "cnn": "a small convolutional network: (conv 3 -> relu -> max-pool 2) per entry of `channels`, then a linear "
                 "layer; for images and signals (digits, mnist1d, mnist)",
          "rnn": "a tanh recurrent network over the sequence data sets (adding, copy, parity): state size = the one "
                 "width in `hidden`, a linear readout of the last state",
          "lstm": "an LSTM over the sequence data sets (adding, copy, parity): state size = the one width in `hidden`, "
                  "a linear readout of the last state"}
RECURRENT_MODELS = ("rnn", "lstm")
MAX_SEQ_LEN = 200
MAX_CONFIG_BYTES = 1_000_000  # a config file is one flat object of a few dozen fields: a megabyte is plenty
MAX_DIGITS = 20  # digits of a whole number read from text: past every bound here, and far from int()'s own limit
SHOWN_CHARS = 40  # a value quoted in a message is cut to about this many characters


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; field names are shared by JSON, CLI and URL."""

    dataset: str = "moons"  # a key of data.DATASETS
    n_samples: int = 1000  # points in a 2-D toy set (digits always uses all 1,797)
    noise: float = 0.2  # label-free jitter of the 2-D toys (std of Gaussian noise)
    val_fraction: float = 0.2  # share of the samples held out for validation
    data_seed: int = 0  # seed of the data generator and of the train/val split
    data_dir: str = ""  # dataset=mnist: the folder with the four IDX files; empty = data.DEFAULT_MNIST_DIR
    subset: int = 10000  # dataset=mnist: images drawn (seeded) from the 70,000; 0 = all
    csv_path: str = ""  # dataset=csv: the file to read
    label_column: str = ""  # dataset=csv: the label column's name; empty = the last column
    seq_len: int = 20  # the sequence data sets (adding, copy, parity): steps T, the memory the task needs
    model: str = "mlp"  # a key of MODELS: mlp (hidden, activation), cnn (channels), rnn or lstm (hidden = [H])
    hidden: tuple[int, ...] = (32, 32)  # hidden widths; () is logistic regression
    channels: tuple[int, ...] = (8, 16)  # model=cnn: channels of each conv -> relu -> max-pool block
    activation: str = "tanh"  # a key of networks.ACTIVATIONS
    init_scale: float = 1.0  # multiplies PyTorch's default initialisation
    seed: int = 0  # seed of the initialisation and of the minibatch order
    optimizer: str = "momentum"  # a key of optim.OPTIMIZERS
    lr: float = 0.05  # learning rate epsilon
    momentum: float = 0.9  # mu of momentum and nesterov (beta1 of adam)
    damping: float = 0.1  # lambda of Newton: step = -lr (H + lambda I)^-1 g; saddle-free: (|H| + lambda I)^-1
    batch_size: int = 32  # minibatch size; 0 means the full training split
    steps: int = 3000  # optimizer steps in the run
    clip_norm: float = 0.0  # clip the gradient to this L2 norm; 0 = off
    weight_decay: float = 0.0  # L2 penalty coefficient (added to the gradient, as torch.optim)
    curvature_monitor: bool = False  # eq. 8.10 every step (gTg, gHg, ratio) and lambda_max at logged rows
    log_every: int = 0  # steps between full-split evaluations; 0 = auto (about 5% of the compute, >= 20 rows)
    device: str = "auto"  # auto = cuda, then mps, then cpu
    interp_min: float = 0.0  # alpha range of the interpolation curve...
    interp_max: float = 1.0  # ...which always contains 0 and 1 exactly
    interp_points: int = 41  # alpha grid points (up to 1000)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(self.hidden))
        object.__setattr__(self, "channels", tuple(self.channels))
        validate(self)

    def to_dict(self) -> dict:
        """The config as a JSON-ready dict (hidden as a list)."""
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        d["channels"] = list(self.channels)
        return d

    def replace(self, **changes) -> TrainConfig:
        """A copy with some fields changed (validated)."""
        return from_dict({**self.to_dict(), **changes})


FIELD_TYPES = {f.name: f.type for f in fields(TrainConfig)}
HOT_FIELDS = ("lr", "momentum", "damping", "clip_norm", "weight_decay", "steps", "curvature_monitor")
"""Fields a running run picks up without restarting."""


def cut(text: str) -> str:
    """Text for a message, cut to about SHOWN_CHARS characters: a link or --set can carry 5,000 digits."""
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS - 10]}… ({len(text):,} characters)"


def shown(value) -> str:
    """repr(value), cut."""
    return cut(repr(value))


def _fail(name: str, allowed: str, got) -> None:
    raise ValueError(f"{name} must be {allowed}, got {shown(got)}")


def _check_number(name: str, value, kind: type, lo=None, hi=None, lo_open=False) -> None:
    ok_type = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:  # a whole float, or an int of any size (float() of a 400-digit int would overflow)
        ok_type = ok_type and (isinstance(value, int) or value.is_integer())
    if not ok_type or value != value or value in (float("inf"), float("-inf")):
        _fail(name, f"a finite {'integer' if kind is int else 'number'}", value)
    if lo is not None and (value <= lo if lo_open else value < lo):
        _fail(name, f"{'>' if lo_open else '>='} {lo}" + (f" and <= {hi}" if hi is not None else ""), value)
    if hi is not None and value > hi:
        _fail(name, f"<= {hi}", value)


def check_seed(value, name: str = "--seed") -> int:
    """A seed from 0 to MAX_SEED (what torch's and numpy's generators take), else ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise ValueError(f"{name} takes a seed from 0 to {MAX_SEED:,}, got {shown(value)}")
    return value


def _check_choice(name: str, value, choices) -> None:
    names = tuple(choices)  # a registry's keys; a list or dict value is simply not among them
    if value not in names:
        _fail(name, "one of " + ", ".join(names), value)


def validate(c: TrainConfig) -> None:
    """Raise ValueError with a sentence a person can act on when a field is out of range."""
    _check_choice("dataset", c.dataset, DATASETS)
    _check_choice("model", c.model, MODELS)
    for name in ("data_dir", "csv_path", "label_column"):
        if not isinstance(getattr(c, name), str) or len(getattr(c, name)) > 1000:
            _fail(name, "a text of at most 1,000 characters", getattr(c, name))
    _check_number("subset", c.subset, int, 0, 70_000)
    if c.dataset == "csv" and not c.csv_path:
        _fail("csv_path", "the CSV file to read when dataset is csv", c.csv_path)
    if len(c.channels) not in range(1, MAX_CONV_BLOCKS + 1) or not all(
        isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= MAX_CHANNELS for h in c.channels
    ):
        _fail("channels", f"a list of 1 to {MAX_CONV_BLOCKS} channel counts, each 1 to {MAX_CHANNELS}",
              list(c.channels))
    sequences = [k for k, d in DATASETS.items() if "seq_len" in d.options]
    if c.model in RECURRENT_MODELS and c.dataset not in sequences:
        _fail("model", f"mlp{' or cnn' if DATASETS[c.dataset].shape else ''} for dataset {c.dataset} (an {c.model} "
              f"reads sequences: {', '.join(sequences)})", c.model)
    if c.dataset in sequences and c.model not in ("mlp", *RECURRENT_MODELS):
        _fail("model", f"mlp (on the flattened sequence), rnn or lstm for dataset {c.dataset}", c.model)
    if c.model == "cnn" and not DATASETS[c.dataset].shape:
        _fail("model", f"mlp for dataset {c.dataset} (a cnn needs images or signals: "
              f"{', '.join(k for k, d in DATASETS.items() if d.shape)})", c.model)
    _check_choice("activation", c.activation, ACTIVATIONS)
    _check_choice("optimizer", c.optimizer, OPTIMIZERS)
    _check_choice("device", c.device, DEVICES)
    _check_number("n_samples", c.n_samples, int, 20, 200_000)
    _check_number("noise", c.noise, float, 0, 10)
    _check_number("val_fraction", c.val_fraction, float, 0, 0.9, lo_open=True)
    _check_number("data_seed", c.data_seed, int, 0, MAX_SEED)
    _check_number("seed", c.seed, int, 0, MAX_SEED)
    if len(c.hidden) > MAX_DEPTH or not all(
        isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= MAX_WIDTH for h in c.hidden
    ):
        _fail("hidden", f"a list of at most {MAX_DEPTH} widths, each 1 to {MAX_WIDTH}", list(c.hidden))
    if c.model in RECURRENT_MODELS and len(c.hidden) != 1:
        _fail("hidden", f"exactly one width for model {c.model} (its state size H), such as [32]", list(c.hidden))
    _check_number("seq_len", c.seq_len, int, 2, MAX_SEQ_LEN)
    _check_number("init_scale", c.init_scale, float, 0, 100, lo_open=True)
    _check_number("lr", c.lr, float, 0, 1000, lo_open=True)
    _check_number("momentum", c.momentum, float, 0, 0.9999)
    _check_number("damping", c.damping, float, 0, 1e6)
    _check_number("batch_size", c.batch_size, int, 0, 200_000)
    _check_number("steps", c.steps, int, 1, 10_000_000)
    _check_number("clip_norm", c.clip_norm, float, 0)
    _check_number("weight_decay", c.weight_decay, float, 0, 100)
    if not isinstance(c.curvature_monitor, bool):
        _fail("curvature_monitor", "true or false", c.curvature_monitor)
    _check_number("log_every", c.log_every, int, 0)
    _check_number("interp_min", c.interp_min, float, -10, 0)
    _check_number("interp_max", c.interp_max, float, 1, 11)
    _check_number("interp_points", c.interp_points, int, 3, 1000)


def _to_int(v):
    """'32' -> 32; anything else (a run of digits past MAX_DIGITS included) is left for validate() to reject."""
    return int(v) if isinstance(v, str) and v.isascii() and v.isdigit() and len(v) <= MAX_DIGITS else v


def _coerce(name: str, value):
    """Bring a JSON or URL value to the field's type, or fail naming the field."""
    kind = FIELD_TYPES[name]
    if kind == "tuple[int, ...]":
        if isinstance(value, str):
            text = value.replace(" ", "")
            if not re.fullmatch(r"\[?(\d+(,\d+)*)?,?\]?", text) or text.count("[") != text.count("]"):
                _fail(name, "comma-separated widths such as 32,32 (empty for logistic regression)" if name == "hidden"
                      else "comma-separated channel counts such as 8,16", value)
            value = [v for v in text.strip("[]").split(",") if v]
        if not isinstance(value, (list, tuple)):
            _fail(name, "a list of integers such as [32, 32]", value)
        return tuple(_to_int(v) for v in value)
    if kind in ("int", "float") and isinstance(value, str):
        what = f"a{'n integer' if kind == 'int' else ' number'}"
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            _fail(name, what, value)
        except ValueError:  # an integer past int()'s 4,300 digits
            _fail(name, f"{what} of at most {MAX_DIGITS} digits", value)
    if kind == "str" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # --set label_column=3 parses as JSON 3; a column's name is text
    if kind == "bool" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > 1e308:  # float() would raise OverflowError
            _fail(name, "a finite number", value)
        return float(value)
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def from_dict(d: dict) -> TrainConfig:
    """A validated config from a flat dict; unknown names are an error."""
    if not isinstance(d, dict):
        raise ValueError(f"the config must be one flat JSON object, got {type(d).__name__}")
    unknown = sorted(set(d) - set(FIELD_TYPES))
    if unknown:
        raise ValueError(f"unknown config field {unknown[0]!r}; allowed fields: {', '.join(FIELD_TYPES)}")
    return TrainConfig(**{k: _coerce(k, v) for k, v in d.items()})


def parse_set(item: str) -> tuple[str, object]:
    """Parse one `key=value` override: JSON when it parses, else the raw string."""
    if "=" not in item:
        raise ValueError(f"--set takes key=value, got {item!r}")
    key, raw = item.split("=", 1)
    try:
        return key.strip(), json.loads(raw)
    except ValueError:  # not JSON (or digits past int()'s limit): the text, for the field's own check
        return key.strip(), raw


def load_json(path: str) -> dict:
    """Read a config file as a dict, with a clear message when it is not a JSON object. At most MAX_CONFIG_BYTES are
    read: /dev/zero or a huge file is refused without reading it whole."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ValueError(f"config file {path!r} does not exist") from None
    except OSError as exc:
        raise ValueError(f"config file {path!r} cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ValueError(f"config file {path!r} is larger than {MAX_CONFIG_BYTES:,} bytes; a config is one flat JSON "
                         "object of a few fields")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8, an integer past int()'s limit, deep nesting
        raise ValueError(f"config file {path!r} is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise ValueError(f"config file {path!r} must hold one flat JSON object")
    return data


def resolve(config_path: str | None, overrides: list[str]) -> TrainConfig:
    """The config file (optional) with `key=value` overrides applied, validated."""
    values = load_json(config_path) if config_path else {}
    for item in overrides:
        key, value = parse_set(item)
        values[key] = value
    return from_dict(values)


DEFAULT = TrainConfig()
