"""Fuzzing the configuration readers: whatever is made of a shipped scenario or device file,
loading it either succeeds or raises :class:`~neurosim.errors.ConfigError`, never another
exception, and writes nothing.

Every example starts from a shipped file (``scenarios/*.yaml``, ``devices/*.yaml``) and
changes it the ways people and disks do: values of another type, numbers out of range,
keys deleted, added, renamed, sections nested or flattened (on the parsed mapping, written
back as YAML or JSON); bytes inserted, text cut, YAML syntax broken, the text re-encoded or
the whole file replaced (on the text). Overrides (``--set``) and grid axes (``--grid``) get
random text too. The default profile runs in seconds; the ``slow`` tests run ten times as
many examples.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.config.base import dump_yaml, parse_override, read_yaml
from neurosim.config.scenario import DirectedScenario, NetworkScenario, load_scenario
from neurosim.devices.spec import DeviceSpec, load_devices
from neurosim.errors import ConfigError
from neurosim.studies.grid import axes_of, expand, parse_grid_argument

ROOT = Path(__file__).parent.parent
SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.yaml"))
DEVICE_FILES = sorted((ROOT / "devices").glob("*.yaml"))

FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
LONG = settings(FAST, max_examples=3000)


def _field_names(model, seen: set) -> set[str]:
    """Every key name the schema declares, at any depth (so that added keys are sometimes real)."""
    if model in seen:
        return set()
    seen.add(model)
    names = set(model.model_fields)
    for field in model.model_fields.values():
        for candidate in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(candidate, type) and hasattr(candidate, "model_fields"):
                names |= _field_names(candidate, seen)
    return names


KEYS = sorted(_field_names(NetworkScenario, set()) | _field_names(DirectedScenario, set())
              | _field_names(DeviceSpec, set()))

TRICKY_TEXT = ["yes", "no", "on", "off", "010", "0755", "1:20", "1e-3", ".5", "1_000", "2024-01-01", "~", "null",
               ".nan", "-.inf", "=", "<<", "", " ", "ten", "0x1F", "0o17", "true", "NaN", "!!binary", "*a", "&a",
               "{", "[", "\t", "\x85", "\u2028", "\ufeff", "a\x00b", "../devices/analog-4bit.yaml", "/", ".",
               "../devices", "/nonexistent/x.yaml", "x" * 300, "9" * 5000, "1:2:3:4", "::0", "hopfield", "bp",
               "layer_skipping", "complete_directed", "stochastic"]
EXTREMES = [-1, 0, 1, 2, -(10**30), 10**30, 2**63, 2**64 + 1, -(2**1100), 2**1100, -1e308, 1e308, 1e-320,
            math.nan, math.inf, -math.inf, 0.5, -0.5, 1e-3]

SCALARS = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=10)
           | st.sampled_from(TRICKY_TEXT) | st.sampled_from(EXTREMES))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=3), max_leaves=8)
NEW_KEYS = st.sampled_from(KEYS) | st.text(max_size=8) | st.integers(-3, 3) | st.none() | st.booleans()


def _slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) below ``node``, depth first."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    out = []
    for key, value in list(items):
        out.append((node, key))
        out += _slots(value)
    return out


def _mutate_structure(draw, content: dict) -> Any:
    """One change to the parsed file, in place where it can be; the (possibly new) whole."""
    slots = _slots(content)
    operation = draw(st.sampled_from(["type", "extreme", "delete", "add", "rename", "nest", "flatten", "hoist",
                                      "whole"]))
    if operation == "whole":
        return draw(VALUES)
    if operation == "add" or not slots:
        mappings = [node for node in [content, *(parent[key] for parent, key in slots)] if isinstance(node, dict)]
        if not mappings:
            return draw(VALUES)
        draw(st.sampled_from(mappings))[draw(NEW_KEYS)] = draw(VALUES)
        return content
    parent, key = draw(st.sampled_from(slots))
    value = parent[key]
    if operation == "type":
        parent[key] = draw(VALUES)
    elif operation == "extreme":
        parent[key] = draw(st.sampled_from(EXTREMES))
    elif operation == "delete":
        del parent[key]
    elif operation == "rename" and isinstance(parent, dict):
        parent[draw(NEW_KEYS | st.just(f"{key}_"))] = parent.pop(key)
    elif operation == "nest":
        parent[key] = draw(st.sampled_from([{draw(NEW_KEYS): value}, [value]]))
    elif operation == "flatten" and isinstance(value, dict | list) and value:
        items = list(value.values()) if isinstance(value, dict) else value
        parent[key] = draw(st.sampled_from([items[0], items, None]))
    elif operation == "hoist" and isinstance(value, dict) and value and isinstance(content, dict):
        inner = draw(st.sampled_from(sorted(value, key=str)))
        content[inner] = value.pop(inner)
    return content


def _serialise(draw, content: Any) -> str:
    """The content as YAML (PyYAML's dialect or neurosim's) or as JSON (which is YAML too)."""
    how = draw(st.sampled_from(["yaml 1.1", "neurosim", "json", "flow"]))
    if how == "json":
        return json.dumps(content, default=str)
    if how == "flow":
        return yaml.safe_dump(content, default_flow_style=True)
    return yaml.safe_dump(content) if how == "yaml 1.1" else dump_yaml(content)


TOKENS = [": ", "{", "}", "[", "]", "- ", "&a ", "*a", "*b ", "!!str ", "!!python/object:os.system ", "!!binary ",
          "%YAML 1.1\n", "---\n", "...\n", "\t", "? ", "|", ">", "#", "'", '"', "\\", "@", "`", "<<: *a\n",
          "\n  ", "\n", ",", "yes", "010", "1e-3", "\x00", "\x07", "\ufeff", "\u2029", "é", '"\\UFFFFFFFF"',
          '"\\uD800"', '"\\x41\\N\\_"']


def _mutate_text(draw, text: str) -> bytes:
    """One change to the file's text; its bytes as they would be on disk."""
    operation = draw(st.sampled_from(["token", "cut", "delete", "indent", "duplicate", "bytes", "encoding",
                                      "replace", "none"]))
    position = draw(st.integers(0, len(text)))
    if operation == "token":
        text = text[:position] + draw(st.sampled_from(TOKENS)) + text[position:]
    elif operation == "cut":
        text = text[:position]
    elif operation == "delete":
        text = text[:position] + text[position + draw(st.integers(1, 40)):]
    elif operation in ("indent", "duplicate"):
        lines = text.splitlines(keepends=True) or [""]
        i = draw(st.integers(0, len(lines) - 1))
        lines[i] = (" " * draw(st.integers(1, 3)) + lines[i]) if operation == "indent" else lines[i] * 2
        text = "".join(lines)
    elif operation == "bytes":
        raw = text.encode()
        return raw[:position] + draw(st.binary(min_size=1, max_size=16)) + raw[position:]
    elif operation == "encoding":
        encoding = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "utf-8-sig"]))
        return (text + "\nname: café – ≈\n").encode(encoding, errors="replace")
    elif operation == "replace":
        return draw(st.binary(max_size=200) | st.text(max_size=200).map(str.encode)
                    | VALUES.map(lambda v: yaml.safe_dump(v).encode()))
    return text.encode()


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A copy of the shipped devices beside a scenarios folder, so that a scenario's
    ``devices: ../devices/NAME.yaml`` resolves as it does in the repository."""
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "devices", root / "devices")
    (root / "scenarios").mkdir()
    (root / "cwd").mkdir()
    return root


@pytest.fixture
def clean_cwd(tree, monkeypatch) -> Path:
    """An empty working directory that must stay empty."""
    monkeypatch.chdir(tree / "cwd")
    return tree / "cwd"


def loads_or_refuses(load, path: Path, tree: Path, *args) -> None:
    """``load(path, *args)`` succeeds or raises ConfigError; no file appears anywhere in ``tree``."""
    before = sorted(tree.rglob("*"))
    try:
        load(path, *args)
    except ConfigError:
        pass
    assert sorted(tree.rglob("*")) == before, "loading wrote a file"


def _check_file(draw, source: Path, load, tree: Path, structure: bool) -> None:
    text = source.read_text()
    if structure:
        content = read_yaml(source)
        for _ in range(draw(st.integers(1, 4))):
            content = _mutate_structure(draw, content)
        text = _serialise(draw, content)
    path = tree / ("devices" if load is load_devices else "scenarios") / "fuzzed.yaml"
    path.write_bytes(_mutate_text(draw, text) if not structure or draw(st.booleans()) else text.encode())
    loads_or_refuses(load, path, tree)


@FAST
@given(data=st.data(), source=st.sampled_from(SCENARIO_FILES), structure=st.booleans())
def test_a_mutated_scenario_loads_or_is_refused(data, source, structure, tree, clean_cwd):
    _check_file(data.draw, source, load_scenario, tree, structure)
    assert not any(clean_cwd.iterdir())


@FAST
@given(data=st.data(), source=st.sampled_from(DEVICE_FILES), structure=st.booleans())
def test_a_mutated_device_file_loads_or_is_refused(data, source, structure, tree, clean_cwd):
    _check_file(data.draw, source, load_devices, tree, structure)
    assert not any(clean_cwd.iterdir())


def _leaf_keys(content: Any, prefix: str = "") -> list[str]:
    if not isinstance(content, dict) or not content:
        return [prefix.rstrip(".")] if prefix else []
    return [key for name, value in content.items() for key in _leaf_keys(value, f"{prefix}{name}.")]


def _check_command_line(draw, source: Path, tree: Path) -> None:
    """``--set KEY=TEXT`` and ``--grid KEY=TEXT`` with random text on a shipped scenario."""
    path = tree / "scenarios" / source.name
    path.write_bytes(source.read_bytes())
    key = draw(st.sampled_from(_leaf_keys(read_yaml(path)) + KEYS) | st.text(max_size=12))
    raw = draw(st.sampled_from(TRICKY_TEXT + TOKENS) | st.text(max_size=30) | VALUES.map(json.dumps))
    try:
        override = dict([parse_override(f"{key}={raw}")])
    except ConfigError:
        override = None
    if override is not None:
        loads_or_refuses(load_scenario, path, tree, override)
    try:
        content, axes = axes_of(path, (f"{key}={raw}",), None)
        if math.prod(len(axis.values) for axis in axes) <= 20:
            expand(path, content, axes)
    except ConfigError:
        pass
    try:
        parse_grid_argument(raw)
    except ConfigError:
        pass


@FAST
@given(data=st.data(), source=st.sampled_from(SCENARIO_FILES))
def test_random_overrides_and_grid_axes_load_or_are_refused(data, source, tree, clean_cwd):
    _check_command_line(data.draw, source, tree)
    assert not any(clean_cwd.iterdir())


@pytest.mark.slow
@LONG
@given(data=st.data(), source=st.sampled_from(SCENARIO_FILES + DEVICE_FILES), structure=st.booleans())
def test_many_mutated_files_load_or_are_refused(data, source, structure, tree, clean_cwd):
    load = load_devices if source in DEVICE_FILES else load_scenario
    _check_file(data.draw, source, load, tree, structure)
    _check_command_line(data.draw, SCENARIO_FILES[0] if load is load_devices else source, tree)
    assert not any(clean_cwd.iterdir())
