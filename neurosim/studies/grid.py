"""Sweep grids: key paths with lists of values, expanded into the resolved scenario of every point.

A grid comes from the scenario file's ``sweep`` section and from ``--grid KEY.PATH=V1,V2,…``
arguments (values read as YAML, as in a scenario file, so ``0.5``, ``1e-3``, ``true``,
``layered`` and ``[784,8,10]`` have their natural types). The points are the Cartesian product of the lists, in the order the
keys are given, seeds last. Every point is validated before anything runs:

- a mistake in the grid itself — an unknown key path, an empty list, a value whose *type*
  can never fit the key — stops the sweep with an error naming the ``--grid`` argument
  (or ``sweep.grid.KEY`` of the file);
- a point whose values are of the right type but not valid (out of range, or a combination
  the schema forbids) becomes an *invalid point*: it is reported with its error and the
  other points still run.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from neurosim.config.base import (YamlSyntaxError, _section_at, config_errors, key_path, parse_yaml, problems, read_yaml,
                                  set_key)
from neurosim.devices.spec import DeviceSpec, resolve_devices
from neurosim.errors import ConfigError
from neurosim.config.scenario import (SCENARIO_SCHEMA, NetworkScenario, Scenario, SweepConfig, scenario_class,
                                      scenario_from_dict)

# pydantic error types meaning "this value has the wrong type", whatever the other keys hold
_TYPE_ERRORS = re.compile(r"(_type|_parsing|literal_error|model_attributes_type)$")


@dataclass(frozen=True)
class Axis:
    """One swept key: its path, its values, and where it was written (for error messages)."""

    key: str
    values: tuple[Any, ...]
    source: str
    """``--grid 'KEY=V1,V2'`` or ``FILE: sweep.grid.KEY``."""


@dataclass
class Point:
    """One grid point: its parameter values, file-name stem and resolved scenario (or error)."""

    params: dict[str, Any]
    name: str
    scenario: Scenario | None = None
    error: str | None = None
    """Why the point's scenario is invalid (the point is reported, not run)."""


def grid_error(source: str, key: str, reason: str) -> ConfigError:
    """An error in the grid, naming where it was written."""
    return ConfigError(source, key, reason)


def parse_grid_argument(text: str) -> Axis:
    """``"dynamics.beta=0.5,1"`` → Axis("dynamics.beta", (0.5, 1)); values are a YAML flow list."""
    source = f"--grid {text!r}"
    if "=" not in text:
        raise grid_error(source, "", "a grid axis must read KEY.PATH=VALUE1,VALUE2,…")
    path, raw = (part.strip() for part in text.split("=", 1))
    if not path:
        raise grid_error(source, "", "the key path before '=' is empty")
    try:
        values = parse_yaml(f"[{raw}]")
    except YamlSyntaxError as exc:
        raise grid_error(source, path, f"values {raw!r} are not a comma-separated YAML list ({exc.problem})") from None
    return Axis(path, tuple(values), source)


def check_axis(axis: Axis, model: type[BaseModel]) -> None:
    """The key path names a field of the scenario class ``model`` (not a section, not ``sweep``);
    the values are a non-empty list of distinct values."""
    parts = axis.key.split(".")
    if parts[0] == "sweep":
        raise grid_error(axis.source, axis.key, "the sweep section itself cannot be swept")
    for depth, part in enumerate(parts):
        if part not in model.model_fields:
            where = ".".join(parts[:depth]) or "the top level"
            allowed = ", ".join(f for f in model.model_fields if f != "sweep")
            raise grid_error(axis.source, axis.key, f"unknown key '{part}' in {where} (allowed there: {allowed})")
        if depth < len(parts) - 1:
            if depth == 0 and part == "device_overrides":  # its keys are the device file's
                model = DeviceSpec
                continue
            section = _section_at(model, (part,))
            if section is None:
                raise grid_error(axis.source, axis.key, f"'{'.'.join(parts[:depth + 1])}' is a value, not a section")
            model = section
    if not axis.values:
        raise grid_error(axis.source, axis.key, "an empty list of values")
    encoded = [json.dumps(v, sort_keys=True) for v in axis.values]
    duplicates = sorted({e for e in encoded if encoded.count(e) > 1})
    if duplicates:
        raise grid_error(axis.source, axis.key, f"value {duplicates[0]} is listed twice")


_UNSAFE = re.compile(r"[^A-Za-z0-9.+-]+")
_UNSAFE_ENDS = re.compile(r"^[^A-Za-z0-9.+-]+|[^A-Za-z0-9.+-]+$")


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def point_name(params: dict[str, Any]) -> str:
    """File-name stem from parameter values: ``dynamics.beta=0.5_seed=1``; characters other than
    letters, digits and ``. + -`` become ``-``; very long names are shortened with a hash."""
    parts = [f"{key}={_UNSAFE.sub('-', _UNSAFE_ENDS.sub('', _value_text(value))) or 'x'}"
             for key, value in params.items()]
    name = "_".join(parts) or "point"
    if len(name) > 120:
        name = f"{name[:100]}-{_hash(params)}"
    return name


def _hash(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:8]


def axes_of(scenario_file: str | Path, arguments: tuple[str, ...], seeds: int | None) -> tuple[dict, list[Axis]]:
    """The scenario file's content (without ``sweep``) and the grid axes: file's, then ``--grid``'s, then seeds."""
    scenario_file = str(scenario_file)
    content = read_yaml(scenario_file)
    try:
        settings = SweepConfig.model_validate(content.pop("sweep", None) or {})
    except ValidationError as exc:
        first = config_errors(exc, SweepConfig, scenario_file)
        raise ConfigError(scenario_file, f"sweep.{first.key_path}", first.reason) from None
    axes = {key: Axis(key, tuple(values), f"{scenario_file}: sweep.grid") for key, values in settings.grid.items()}
    given: set[str] = set()
    for text in arguments:  # a --grid key replaces the file's axis, but may be given once
        axis = parse_grid_argument(text)
        if axis.key in given:
            raise grid_error(axis.source, axis.key, "swept twice on the command line: give its values in one --grid")
        given.add(axis.key)
        axes[axis.key] = axis
    model = scenario_class(content) or NetworkScenario  # no kind: every point will say so; check the default's keys
    seeds = seeds if seeds is not None else settings.seeds
    if seeds is not None:
        if "seed" in axes:
            raise grid_error(axes["seed"].source, "seed", "seeds are swept twice: give either a 'seed' axis or --seeds")
        first = content.get("seed", model.model_fields["seed"].default)
        axes["seed"] = Axis("seed", tuple(range(first, first + seeds)), f"--seeds {seeds}")
    for axis in axes.values():
        check_axis(axis, model)
    return content, list(axes.values())


def expand(scenario_file: str | Path, content: dict, axes: list[Axis]) -> list[Point]:
    """Every point of the grid with its resolved scenario, or its error if the values are invalid.

    Raises a grid error when a value's type cannot fit its key (whatever the other keys hold).
    """
    scenario_file = str(scenario_file)
    base_dir = Path(scenario_file).parent
    points = []
    for values in itertools.product(*(axis.values for axis in axes)):
        params = {axis.key: value for axis, value in zip(axes, values)}
        resolved = copy.deepcopy(content)
        for key, value in params.items():
            set_key(resolved, key, value)
        point = Point(params, point_name(params))
        where = f"{scenario_file} with {_describe(params)}"
        try:  # a device file named by path (in the file or on an axis) is read first, as when loading
            resolved["devices"] = resolve_devices(resolved.get("devices"), resolved.pop("device_overrides", None),
                                                  where, base_dir)
            SCENARIO_SCHEMA.validate_python(resolved)
        except ConfigError as exc:
            point.error = str(exc)
        except ValidationError as exc:
            _raise_type_errors(exc, axes, params)
            point.error = str(config_errors(exc, Scenario, where))
        else:
            point.scenario = scenario_from_dict(resolved, scenario_file, base_dir)
        points.append(point)
    _disambiguate(points)
    return points


def _describe(params: dict[str, Any]) -> str:
    return ", ".join(f"{key}={_value_text(value)}" for key, value in params.items())


def _raise_type_errors(exc: ValidationError, axes: list[Axis], params: dict[str, Any]) -> None:
    for problem in problems(exc, Scenario):
        where = key_path(problem.loc)
        for axis in axes:
            inside = where == axis.key or where.startswith((axis.key + ".", axis.key + "["))
            if inside and _TYPE_ERRORS.search(problem.type):
                value = _value_text(params[axis.key])
                raise grid_error(axis.source, where, f"value {value}: {problem.reason}")


def _disambiguate(points: list[Point]) -> None:
    """Two points whose names sanitise to the same text get a short hash of their exact values."""
    counts: dict[str, int] = {}
    for point in points:
        counts[point.name] = counts.get(point.name, 0) + 1
    for point in points:
        if counts[point.name] > 1:
            point.name = f"{point.name}_{_hash(point.params)}"
