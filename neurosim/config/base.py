"""Configuration files in general: YAML reading, the base of every schema section, error reports.

Scenario files (:mod:`neurosim.config.scenario`) and device files (:mod:`neurosim.devices.spec`) are
both validated with these: unknown keys, wrong types and out-of-range values become one
:class:`~neurosim.errors.ConfigError` naming the file, the key path and the reason.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from neurosim.errors import ConfigError


class KeyedValueError(ValueError):
    """A validator's complaint about one key below the field or section it validates.

    ``loc`` continues the key path (``("banks", 2)`` → ``….banks[2]``), so that the
    reported path names the offending entry itself.
    """

    def __init__(self, loc: tuple, reason: str):
        super().__init__(reason)
        self.loc = loc


class Section(BaseModel):
    """Base of every scenario section: strict types, no unknown keys, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, use_attribute_docstrings=True)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses duplicate keys instead of silently keeping the last."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: str | Path) -> dict:
    """Parse a YAML mapping, with errors naming the file (and line for syntax errors)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(str(path), "", "no such file") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot be read ({exc.strerror})") from None
    try:
        content = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(str(path), "", f"{line}invalid YAML ({problem})") from None
    if content is None:
        content = {}
    if not isinstance(content, dict):
        raise ConfigError(str(path), "", f"must be a YAML mapping, got {type(content).__name__}")
    return content


def key_path(loc: tuple) -> str:
    """``('training', 'learning_rate', 0)`` → ``training.learning_rate[0]``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _section_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The section class found by following ``loc`` through the schema's fields."""
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        candidates = [field.annotation, *typing.get_args(field.annotation)]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if model is None:
            return None
    return model


def _variants(schema: Any) -> dict[str, type[BaseModel]]:
    """Tag → member class of a tagged union ``Annotated[Annotated[A, Tag("A")] | …, Discriminator(…)]``;
    empty for a section class."""
    if typing.get_origin(schema) is not typing.Annotated:
        return {}
    members = typing.get_args(typing.get_args(schema)[0])
    return {tag.tag: member for member, tag in map(typing.get_args, members)}


class Problem(NamedTuple):
    """One complaint of a validation, as a user reads it."""

    loc: tuple
    """Key path of the offending value, e.g. ``("training", "learning_rate", 0)``."""
    type: str
    """Pydantic's error type, e.g. ``int_type``, ``literal_error``, ``extra_forbidden``."""
    reason: str
    """What is wrong, in words."""


def problems(exc: ValidationError, schema: Any) -> list[Problem]:
    """Every error of validating ``schema`` (a section class, or a tagged union of them) by
    key path: a union's tag left out of the path, a :class:`KeyedValueError`'s path appended,
    unknown and missing keys explained."""
    variants = _variants(schema)
    out = []
    for error in exc.errors():
        loc, model = tuple(error["loc"]), schema
        if variants and loc:
            model, loc = variants[loc[0]], loc[1:]
        reason = error["msg"].removeprefix("Value error, ")
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, KeyedValueError):
            loc, reason = loc + cause.loc, str(cause)
        if error["type"] == "extra_forbidden":
            section = _section_at(model, loc[:-1])
            allowed = ", ".join(section.model_fields) if section else ""
            reason = f"unknown key (allowed here: {allowed})" if allowed else "unknown key"
        elif error["type"] == "missing":
            reason = "required key is missing"
        out.append(Problem(loc, error["type"], reason))
    return out


def config_errors(exc: ValidationError, schema: Any, file: str | None) -> ConfigError:
    """Turn pydantic's report into one ConfigError listing every problem by key path."""
    lines = [(key_path(problem.loc), problem.reason) for problem in problems(exc, schema)]
    first_key, first_reason = lines[0]
    err = ConfigError(file, first_key, first_reason)
    if len(lines) > 1:
        where = f"{file}: " if file else ""
        err.args = ("\n".join(f"{where}{k}: {r}" if k else f"{where}{r}" for k, r in lines),)
    return err


def set_key(mapping: dict, path: str, value: Any) -> None:
    """Set ``a.b.c = value`` inside nested mappings, creating sections as needed."""
    keys = path.split(".")
    for key in keys[:-1]:
        nxt = mapping.setdefault(key, {})
        if not isinstance(nxt, dict):
            raise ConfigError(None, path, f"'{key}' is not a section, cannot set a key below it")
        mapping = nxt
    mapping[keys[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """``"training.epochs=3"`` → ``("training.epochs", 3)``; the value is read as YAML."""
    if "=" not in text:
        raise ConfigError(None, text, "an override must read KEY.PATH=VALUE")
    path, raw = text.split("=", 1)
    try:
        return path.strip(), yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ConfigError(None, path, f"value {raw!r} is not valid YAML") from None
