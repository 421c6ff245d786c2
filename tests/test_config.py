"""TrainConfig: defaults, round trips, coercion of JSON / CLI / URL values, and one readable error per bad field."""

from __future__ import annotations

import dataclasses
import json

import pytest

from core.model.config import DEFAULT, FIELD_TYPES, HOT_FIELDS, TrainConfig, from_dict, load_json, parse_set
from core.model.config import resolve as resolve_config
from core.model.networks import ACTIVATIONS
from core.model.optim import OPTIMIZERS


def test_defaults_are_valid_and_match_the_spec_choices():
    c = TrainConfig()
    assert c == DEFAULT
    assert c.interp_min <= 0.0 and c.interp_max >= 1.0
    assert set(OPTIMIZERS) == {"sgd", "momentum", "nesterov", "adam", "newton", "saddle-free"}
    assert set(ACTIVATIONS) == {"relu", "tanh", "sigmoid", "linear", "maxout"}


def test_round_trip_through_json():
    c = TrainConfig(dataset="xor", hidden=[4, 5], lr=0.3, steps=7, interp_min=-0.5, interp_max=1.5)
    assert c.hidden == (4, 5)
    text = json.dumps(c.to_dict())
    back = from_dict(json.loads(text))
    assert back == c and hash(back) == hash(c)
    assert json.loads(text)["hidden"] == [4, 5]
    assert set(c.to_dict()) == {f.name for f in dataclasses.fields(TrainConfig)} == set(FIELD_TYPES)


def test_config_is_frozen_and_replace_validates():
    c = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.lr = 1.0  # type: ignore[misc]
    assert c.replace(lr=0.5).lr == 0.5 and c.lr == 0.05
    with pytest.raises(ValueError, match="lr"):
        c.replace(lr=0)


def test_hot_fields_are_fields():
    assert set(HOT_FIELDS) <= set(FIELD_TYPES)
    assert not {"hidden", "dataset", "seed", "optimizer", "activation"} & set(HOT_FIELDS)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("hidden=[16,16]", ("hidden", [16, 16])),
        ("lr=0.1", ("lr", 0.1)),
        ("dataset=moons", ("dataset", "moons")),
        ("steps=60", ("steps", 60)),
        ("activation=\"relu\"", ("activation", "relu")),
        ("name = x=y", ("name", " x=y")),
    ],
)
def test_parse_set(item, expected):
    assert parse_set(item) == expected


def test_parse_set_needs_an_equals_sign():
    with pytest.raises(ValueError, match="key=value"):
        parse_set("lr")


def test_resolve_config_applies_overrides_over_the_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"steps": 60, "n_samples": 200, "hidden": [8]}), encoding="utf-8")
    c = resolve_config(str(path), ["hidden=[16,16]", "lr=0.1", "dataset=moons", "steps=70"])
    assert c == TrainConfig(steps=70, n_samples=200, hidden=(16, 16), lr=0.1, dataset="moons")
    assert isinstance(c.lr, float) and isinstance(c.steps, int)
    assert resolve_config(None, []) == TrainConfig()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"hidden": "16,8"}, {"hidden": (16, 8)}),  # URL style
        ({"hidden": "[16, 8]"}, {"hidden": (16, 8)}),
        ({"hidden": ["16", "8"]}, {"hidden": (16, 8)}),
        ({"hidden": []}, {"hidden": ()}),
        ({"hidden": ""}, {"hidden": ()}),
        ({"lr": "0.5"}, {"lr": 0.5}),
        ({"lr": 1}, {"lr": 1.0}),
        ({"steps": "25"}, {"steps": 25}),
        ({"steps": 25.0}, {"steps": 25}),
        ({"n_samples": 1e3}, {"n_samples": 1000}),
    ],
)
def test_coercion(changes, expected):
    c = from_dict(changes)
    for key, value in expected.items():
        got = getattr(c, key)
        assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dataset", "nope"),
        ("activation", "swish"),
        ("optimizer", "lbfgs"),
        ("device", "tpu"),
        ("lr", -1),
        ("lr", 0),
        ("lr", float("nan")),
        ("lr", float("inf")),
        ("lr", "fast"),
        ("lr", True),
        ("momentum", 1.0),
        ("damping", -0.1),
        ("steps", 0),
        ("steps", 2.5),
        ("n_samples", 5),
        ("val_fraction", 0.0),
        ("val_fraction", 0.95),
        ("hidden", [0]),
        ("hidden", [-1]),
        ("hidden", [2000]),
        ("hidden", [4] * 7),
        ("hidden", [True]),
        ("hidden", 5),
        ("hidden", "a,b"),
        ("batch_size", -1),
        ("clip_norm", -1),
        ("weight_decay", -0.5),
        ("interp_min", 0.5),
        ("interp_max", 0.5),
        ("interp_points", 2),
        ("interp_points", 5000),
        ("seed", -1),
        ("init_scale", 0),
    ],
)
def test_bad_value_is_one_readable_line_naming_the_field(field, value):
    with pytest.raises(ValueError) as info:
        from_dict({field: value})
    message = str(info.value)
    assert message.startswith(field)
    assert "\n" not in message


def test_unknown_field_is_named():
    with pytest.raises(ValueError, match="'learning_rate'") as info:
        from_dict({"learning_rate": 0.1})
    assert "lr" in str(info.value)  # the allowed names are listed


def test_from_dict_rejects_non_objects():
    with pytest.raises(ValueError, match="JSON object"):
        from_dict([1, 2])  # type: ignore[arg-type]


def test_load_json_errors(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(ValueError, match="does not exist"):
        load_json(str(missing))
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON") as info:
        load_json(str(bad))
    assert "\n" not in str(info.value)
    arr = tmp_path / "arr.json"
    arr.write_text("[1]", encoding="utf-8")
    with pytest.raises(ValueError, match="one flat JSON object"):
        load_json(str(arr))
    good = tmp_path / "good.json"
    good.write_text('{"lr": 0.2}', encoding="utf-8")
    assert load_json(str(good)) == {"lr": 0.2}


@pytest.mark.parametrize("value", [-10.0, -0.5, 0.0])
def test_interp_range_always_contains_zero_and_one(value):
    c = TrainConfig(interp_min=value, interp_max=1.0 - value)
    assert c.interp_min <= 0.0 and c.interp_max >= 1.0
