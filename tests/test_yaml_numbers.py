"""How configuration values are spelt and what they are read as: one table, through every
reader (scenario file, device file, ``--set KEY=VALUE``, ``--grid KEY=V1,V2``).

The rules (``neurosim.config.base``, documented in ``docs/scenario.md``): numbers as people
write them (``1e-3``, ``.5``, ``1_000``) are numbers; only true/false are booleans; YAML 1.1's
other readings (``yes``/``no``, ``010`` octal, ``1:20`` base 60, dates) stay text, which a key
wanting a number or a boolean refuses with a message naming the key.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.config.base import dump_yaml, parse_override, parse_yaml, read_yaml
from neurosim.config.scenario import load_scenario
from neurosim.devices.spec import load_devices
from neurosim.errors import ConfigError
from neurosim.studies.grid import axes_of, expand, parse_grid_argument

SPELLINGS = [
    ("1e-3", 0.001), ("5e-2", 0.05), ("1.0e30", 1e30), ("-1E+5", -100000.0), (".5", 0.5), ("5.", 5.0),
    ("+2.5e-1", 0.25), ("1e3", 1000.0), ("1_000.5", 1000.5), (".inf", math.inf), ("-.inf", -math.inf),
    ("10", 10), ("-3", -3), ("0", 0), ("1_000", 1000), ("0o17", 15), ("0x1F", 31),
    ("true", True), ("False", False), ("TRUE", True),
    ("null", None), ("~", None),
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("010", "010"), ("0755", "0755"),
    ("1:20", "1:20"), ("2024-01-01", "2024-01-01"), ("1_", "1_"), ("0x", "0x"), ("e5", "e5"),
]
"""(as written, as read): the value itself, with its type."""


def same(got: Any, expected: Any) -> bool:
    """Equal and of the same type (``1 == 1.0 == True`` is not enough here)."""
    if isinstance(expected, list):
        return isinstance(got, list) and len(got) == len(expected) and all(map(same, got, expected))
    if isinstance(expected, dict):
        return isinstance(got, dict) and got.keys() == expected.keys() and all(same(got[k], expected[k]) for k in got)
    return type(got) is type(expected) and got == expected


@pytest.mark.parametrize("text, value", SPELLINGS, ids=[text for text, _ in SPELLINGS])
def test_every_reader_reads_a_spelling_as_the_same_value(text, value, tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text(f"plain: {text}\nin_a_list: [{text}]\n")
    assert same(read_yaml(path), {"plain": value, "in_a_list": [value]})
    assert same(parse_override(f"dynamics.beta={text}"), ("dynamics.beta", value))
    assert same(list(parse_grid_argument(f"dynamics.beta={text},0.5").values), [value, 0.5])


def test_not_a_number_is_a_float():
    assert math.isnan(parse_yaml(".nan")) and math.isnan(parse_override("x=.NaN")[1])


class Refused(NamedTuple):
    """The outcome of a value that must be refused: the error's key path and words in its reason."""

    key: str
    words: str


SCENARIO = "data: {train_size: 40, test_size: 20}\ntopology: {sizes: [784, 8, 10]}\n"
"""A valid scenario with none of the keys :data:`SCENARIO_CASES` writes."""

SCENARIO_CASES = [
    ("dynamics.beta", "1e-3", 0.001),
    ("dynamics.beta", "5e-2", 0.05),
    ("dynamics.beta", "1.0e30", 1e30),
    ("dynamics.beta", ".5", 0.5),
    ("dynamics.beta", "-1E+5", Refused("dynamics.beta", "greater than 0")),  # a number, out of range
    ("training.learning_rate", "[1e-3, 5E-2]", [0.001, 0.05]),
    ("training.shuffle", "false", False),
    ("training.shuffle", "yes", Refused("training.shuffle", "(got the text 'yes': write true or false)")),
    ("training.shuffle", "off", Refused("training.shuffle", "(got the text 'off': write true or false)")),
    ("dynamics.t_free", "1_000", 1000),
    ("dynamics.t_free", "0o10", 8),
    ("dynamics.t_free", "010", Refused("dynamics.t_free", "(got the text '010': a leading zero is ambiguous")),
    ("dynamics.t_free", "1:20", Refused("dynamics.t_free", "(got the text '1:20': base-60 numbers are not read")),
    ("dynamics.t_free", "1e3", Refused("dynamics.t_free", "(got 1000.0, a number with a fraction or exponent: write 1000)")),
    ("training.epochs", "ten", Refused("training.epochs", "Input should be a valid integer (got the text 'ten')")),
    ("name", "no", "no"),
    ("name", "010", "010"),
    ("name", "2024-01-01", "2024-01-01"),
]
"""(key path, value as written, the scenario's value or how it is refused)."""

DEVICE_CASES = [
    ("neuron.state.range", "[1e-3, 5e-2]", [0.001, 0.05]),
    ("neuron.current.range", "[-1E+5, 1.0e5]", [-100000.0, 100000.0]),
    ("neuron.state.range", "[.5, 1.0e30]", [0.5, 1e30]),
    ("synapse.weight.bits", "0o10", 8),
    ("synapse.weight.bits", "1_0", 10),
    ("synapse.weight.bits", "010", Refused("synapse.weight.bits", "a leading zero is ambiguous")),
    ("synapse.weight.bits", "8.", Refused("synapse.weight.bits", "write 8")),
    ("energy.synapse.mac_forward.pJ", "5e-2", 0.05),
]
"""(key path in a device file, value as written, the device value or how it is refused)."""


def nested(key: str, text: str) -> str:
    """``("a.b", "1e-3")`` → ``"{a: {b: 1e-3}}"``: YAML text setting one key path."""
    for part in reversed(key.split(".")):
        text = f"{{{part}: {text}}}"
    return text


def value_at(record: Any, key: str) -> Any:
    for part in key.split("."):
        record = getattr(record, part)
    return record


def through_grid(path: Path, key: str, text: str):
    """The scenario of the one-point grid ``--grid KEY=TEXT``; a refusal raised as a ConfigError."""
    content, axes = axes_of(path, (f"{key}={text}",), None)
    point, = expand(path, content, axes)
    if point.error:
        raise ConfigError(None, "", point.error)
    return point.scenario


def through_set(path: Path, key: str, text: str):
    return load_scenario(path, dict([parse_override(f"{key}={text}")]))


def check(outcome, read, expected) -> None:
    """``read()`` gives ``expected`` (via ``outcome``), or is refused as ``expected`` says."""
    if isinstance(expected, Refused):
        with pytest.raises(ConfigError) as info:
            read()
        assert f"{expected.key}: " in str(info.value) and expected.words in str(info.value), str(info.value)
        return
    assert same(outcome(read()), expected)


@pytest.mark.parametrize("key, text, expected", SCENARIO_CASES, ids=[f"{k}={t}" for k, t, _ in SCENARIO_CASES])
def test_scenario_values_through_the_file_set_and_grid(key, text, expected, tmp_path):
    written = tmp_path / "written.yaml"
    written.write_text(SCENARIO + nested(key, text)[1:-1] + "\n")
    base = tmp_path / "base.yaml"
    base.write_text(SCENARIO)
    outcome = lambda scenario: value_at(scenario, key)  # noqa: E731
    check(outcome, lambda: load_scenario(written), expected)
    check(outcome, lambda: through_set(base, key, text), expected)
    check(outcome, lambda: through_grid(base, key, text), expected)


@pytest.mark.parametrize("key, text, expected", DEVICE_CASES, ids=[f"{k}={t}" for k, t, _ in DEVICE_CASES])
def test_device_values_through_the_file_set_and_grid(key, text, expected, tmp_path):
    device_file = tmp_path / "device.yaml"
    entry = "{pJ: %s, bits: 8, scaling: constant, source: a test}" % text
    written = nested(key, text) if not key.startswith("energy") else nested(key.rsplit(".", 1)[0], entry)
    device_file.write_text(written[1:-1] + "\n")
    check(lambda spec: value_at(spec, key), lambda: load_devices(device_file), expected)
    base = tmp_path / "base.yaml"
    base.write_text(SCENARIO)
    in_scenario = lambda scenario: value_at(scenario.devices, key)  # noqa: E731
    if key.startswith("energy"):  # an energy entry is set whole
        key, text = key.rsplit(".", 1)[0], entry
        in_scenario = lambda scenario: value_at(scenario.devices, key).pJ  # noqa: E731
    check(in_scenario, lambda: through_set(base, f"device_overrides.{key}", text),
          expected._replace(key=f"device_overrides.{expected.key}") if isinstance(expected, Refused) else expected)
    check(in_scenario, lambda: through_grid(base, f"devices.{key}", text),
          expected._replace(key=f"devices.{expected.key}") if isinstance(expected, Refused) else expected)


def test_a_trace_range_is_not_read_as_a_base_60_number(tmp_path):
    """YAML 1.1 reads ``10:20`` as 620: the trace would have recorded epoch 620 alone."""
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO + "trace: {records: [{banks: [weights], cadence: epoch, epochs: [0, 10:20]}]}\n")
    assert load_scenario(path).trace.records[0].epochs == [0, "10:20"]


@settings(max_examples=200, deadline=None)
@given(x=st.floats(allow_nan=False, allow_infinity=False))
def test_every_way_python_prints_a_float_reads_back_as_that_float(x):
    for text in (repr(x), f"{x:e}", f"{x:E}", f"{x:.17e}", f"{x:_.3f}", f"{x:+.2f}"):
        assert same(parse_yaml(text), float(text)), text


@settings(max_examples=200, deadline=None)
@given(n=st.integers(-10**30, 10**30))
def test_every_way_python_prints_an_integer_reads_back_as_that_integer(n):
    for text in (str(n), f"{n:_}", f"0x{n:x}" if n >= 0 else str(n), f"0o{n:o}" if n >= 0 else str(n)):
        assert same(parse_yaml(text), n), text


PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(data=PLAIN)
def test_what_neurosim_writes_both_yaml_readings_read_back_unchanged(data):
    """A resolved scenario (``to_yaml``) is read by neurosim and by any YAML 1.1 reader alike:
    text that either would type (``1e-3``, ``yes``, ``010``) is quoted."""
    text = dump_yaml(data)
    assert same(parse_yaml(text), data) and same(yaml.safe_load(text), data)
