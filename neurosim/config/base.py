"""Configuration files in general: YAML reading, the base of every schema section, error reports.

Scenario files (:mod:`neurosim.config.scenario`) and device files (:mod:`neurosim.devices.spec`) are
both validated with these: unknown keys, wrong types and out-of-range values become one
:class:`~neurosim.errors.ConfigError` naming the file, the key path and the reason.
"""

from __future__ import annotations

import math
import re
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


_DIGITS = r"[0-9](?:_?[0-9])*"
"""Decimal digits, single underscores allowed between them (``1_000``), as Python writes them."""

_IMPLICIT_TYPES = [
    ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("tag:yaml.org,2002:null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"[-+]?(?:0|[1-9](?:_?[0-9])*)|0o[0-7](?:_?[0-7])*|0x[0-9a-fA-F](?:_?[0-9a-fA-F])*",
     "-+0123456789"),
    ("tag:yaml.org,2002:float", rf"[-+]?(?:(?:{_DIGITS}\.(?:{_DIGITS})?|\.{_DIGITS})(?:[eE][-+]?[0-9]+)?"
                                rf"|{_DIGITS}[eE][-+]?[0-9]+)|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
     "-+0123456789."),
    ("tag:yaml.org,2002:merge", r"<<", "<"),
]
"""How a plain (unquoted) value is typed: YAML 1.2's core schema, plus ``_`` between digits.

- Numbers are written as people write them: ``1e-3``, ``5e-2``, ``1.0e30``, ``-1E+5``,
  ``.5``, ``5.`` are floats (YAML 1.1, PyYAML's default, reads the first four as text),
  as are ``.inf``, ``-.inf`` and ``.nan``; ``10``, ``-3``, ``1_000``, ``0o17``, ``0x1F``
  are integers, and ``1_000.5`` a float.
- Only ``true``/``false`` (also ``True``, ``TRUE``, ...) are booleans, only ``null``, ``~``
  and nothing at all are null.
- YAML 1.1's other readings stay text: ``yes``/``no``/``on``/``off`` (booleans in 1.1),
  ``010`` and ``0755`` (octal in 1.1: a leading zero is ambiguous), ``1:20`` (base 60 in
  1.1, 80), dates (``2024-01-01``). Where a key wants a number or a boolean,
  the schema then refuses the text with a message naming the key and what to write;
  where it wants text (a name, a path, a trace range ``"10:20"``), the text is kept.
- ``<<`` merges the mapping (or list of mappings) it names, as in YAML 1.1; the keys
  written beside it take precedence.
"""

MAX_DEPTH = 32
"""Deepest nesting of mappings and lists a configuration file may have, aliases expanded
(a scenario needs about 6)."""
MAX_VALUES = 1_000_000
"""Most values a configuration file may stand for once every alias is expanded: an alias
repeated inside an alias (the "billion laughs") would otherwise make a few lines stand for
more values than memory holds."""


class _Marked(yaml.MarkedYAMLError):
    """A YAML problem at a place in the text (line and column come from ``mark``)."""

    def __init__(self, problem: str, mark):
        super().__init__(problem=problem, problem_mark=mark)


class YamlLoader(yaml.SafeLoader):
    """The one YAML reader of every configuration value: scenario files, device files,
    ``--set KEY=VALUE`` and ``--grid KEY=V1,V2`` values.

    A safe loader (no Python objects) with YAML 1.2's typing of plain values (see
    :data:`_IMPLICIT_TYPES`), duplicate keys refused instead of silently keeping the last,
    only the plain data types (mappings, lists, text, numbers, booleans, null: an explicit
    tag such as ``!!binary`` or ``!!timestamp`` is refused), and the nesting and size
    limits :data:`MAX_DEPTH` and :data:`MAX_VALUES` (a recursive alias is refused).
    """

    yaml_implicit_resolvers: dict = {}
    yaml_constructors = {tag: yaml.SafeLoader.yaml_constructors[tag] for tag in
                         ("tag:yaml.org,2002:null", "tag:yaml.org,2002:seq")}

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Marked(f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node):
        _expanded(node, {}, set(), 1)
        return super().construct_document(node)

    def construct_undefined(self, node):
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise _Marked(f"the tag {tag!r} is not supported: a configuration value is a mapping, a list, "
                      "text, a number, true/false or null", node.start_mark)


def _expanded(node: yaml.Node, seen: dict[int, tuple[int, int]], open_nodes: set[int], depth: int) -> tuple[int, int]:
    """(values, levels) that ``node`` stands for once every alias is expanded, refusing a node
    that contains itself and anything beyond :data:`MAX_DEPTH` or :data:`MAX_VALUES`.
    Aliases share their node, so each node is counted once (``seen``)."""
    if id(node) in open_nodes:
        raise _Marked("an alias refers to a mapping or list that contains it (a recursive structure)",
                      node.start_mark)
    if id(node) not in seen:
        if depth > MAX_DEPTH:
            raise _Marked(f"nested more than {MAX_DEPTH} levels deep (aliases expanded)", node.start_mark)
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else []
        open_nodes.add(id(node))
        counts = [_expanded(child, seen, open_nodes, depth + 1) for child in children]
        open_nodes.discard(id(node))
        seen[id(node)] = (1 + sum(c[0] for c in counts), 1 + max((c[1] for c in counts), default=0))
    values, levels = seen[id(node)]
    if values > MAX_VALUES:
        raise _Marked(f"stands for more than {MAX_VALUES:,} values once its aliases are expanded", node.start_mark)
    if depth - 1 + levels > MAX_DEPTH:
        raise _Marked(f"nested more than {MAX_DEPTH} levels deep (aliases expanded)", node.start_mark)
    return values, levels


for _tag, _pattern, _first in _IMPLICIT_TYPES:
    YamlLoader.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), list(_first))


def _construct_mapping(loader: YamlLoader, node: yaml.MappingNode) -> dict:
    """A mapping whose own keys are distinct (keys merged in with ``<<`` may be overridden)."""
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node)
        if not isinstance(key, typing.Hashable):
            raise _Marked(f"a key must be a plain value, not a {type(key).__name__}", key_node.start_mark)
        if key in seen:
            raise _Marked(f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


def _construct_str(loader: YamlLoader, node: yaml.ScalarNode) -> str:
    """Text that can be written to a file: an escape such as ``"\\uD800"`` (half of a UTF-16
    pair) is no character, and would fail only when a run file stores it."""
    text = loader.construct_scalar(node)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _Marked(f"U+{ord(text[exc.start]):04X} is half of a UTF-16 surrogate pair, not a character",
                      node.start_mark) from None
    return text


def _construct_bool(loader: YamlLoader, node: yaml.ScalarNode) -> bool:
    text = loader.construct_scalar(node)
    if text.lower() not in ("true", "false"):
        raise _Marked(f"{text!r} is not a boolean (write true or false)", node.start_mark)
    return text.lower() == "true"


def _construct_int(loader: YamlLoader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    try:
        return int(text, 0)  # decimal, 0o octal, 0x hexadecimal, '_' between digits
    except ValueError:
        raise _Marked(f"{text!r} is not an integer", node.start_mark) from None


_SPECIAL_FLOATS = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}


def _construct_float(loader: YamlLoader, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node)
    if text.lower() in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text.lower()]
    try:
        return float(text)
    except ValueError:
        raise _Marked(f"{text!r} is not a number", node.start_mark) from None


YamlLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
YamlLoader.add_constructor("tag:yaml.org,2002:str", _construct_str)
YamlLoader.add_constructor("tag:yaml.org,2002:merge", _construct_str)  # '<<' as a value
YamlLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
YamlLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
YamlLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
YamlLoader.add_constructor(None, YamlLoader.construct_undefined)


class YamlDumper(yaml.SafeDumper):
    """Writes configuration values so that both :class:`YamlLoader` and PyYAML's default
    (YAML 1.1) loader read them back unchanged: text that either would read as something
    else (``1e-3``, ``yes``, ``010``, ``1:20``) is quoted."""


for _tag, _pattern, _first in _IMPLICIT_TYPES:
    YamlDumper.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), list(_first))


def dump_yaml(data: Any) -> str:
    """``data`` (plain mappings, lists and values) as block-style YAML text, keys in their order
    (text as PyYAML's safe_dump writes it, non-ASCII characters escaped, but quoted wherever
    either YAML reading would type it)."""
    return yaml.dump(data, Dumper=YamlDumper, sort_keys=False)


class YamlSyntaxError(ValueError):
    """YAML text that cannot be read: ``problem`` says why, ``line`` and ``column`` (from 1)
    where, when known."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None):
        super().__init__(problem)
        self.problem, self.line, self.column = problem, line, column

    @property
    def where(self) -> str:
        """``"line 3, column 7: "``, or nothing when the place is unknown."""
        return f"line {self.line}, column {self.column}: " if self.line else ""


def parse_yaml(text: str) -> Any:
    """Read YAML text with :class:`YamlLoader`; a problem raises :class:`YamlSyntaxError`."""
    try:
        return yaml.load(text, Loader=YamlLoader)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. NUL in a binary file
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise YamlSyntaxError(f"character U+{exc.character:04X} is not allowed in YAML text; "
                              "is this a binary file?", line, column) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        if exc.context and problem.startswith("but "):  # "expected a single document in the stream, but found ..."
            problem = f"{exc.context}, {problem}"
        raise YamlSyntaxError(problem, *((mark.line + 1, mark.column + 1) if mark else ())) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc)) from None
    except (ValueError, OverflowError) as exc:  # raised by PyYAML itself, e.g. for "\UFFFFFFFF"
        raise YamlSyntaxError(f"{exc} (is there an escape beyond Unicode, such as \\UFFFFFFFF?)") from None


def read_yaml(path: str | Path) -> dict:
    """The mapping a YAML file holds; every problem a ConfigError naming the file (and the
    line): no such file, not UTF-8 text (a binary file), YAML syntax, empty, or a top level
    that is not a mapping of keys."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(path), "", "no such file") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:  # e.g. a NUL character in the path
        raise ConfigError(str(path), "", f"is not a usable file name ({exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(str(path), "", f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}, at offset "
                          f"{exc.start}): scenario and device files are YAML text saved as UTF-8") from None
    try:
        content = parse_yaml(text)
    except YamlSyntaxError as exc:
        raise ConfigError(str(path), "", f"{exc.where}invalid YAML ({exc.problem})") from None
    if content is None:
        raise ConfigError(str(path), "", "the file is empty (or holds only comments): expected a mapping of keys")
    if not isinstance(content, dict):
        raise ConfigError(str(path), "", f"must be a YAML mapping of keys (KEY: VALUE lines), "
                          f"got {_kind_of(content)}")
    return content


def _kind_of(value: Any) -> str:
    """``[1]`` → ``"a list"``, ``"abc"`` → ``"text"``: what a value is, in words."""
    kinds = {list: "a list", str: "text", bool: "a boolean", int: "an integer", float: "a number"}
    return kinds.get(type(value), type(value).__name__)


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


_OCTAL_LOOKING = re.compile(r"[-+]?0[0-9_]+")
_BASE_60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")


def _hint(error_type: str, value: Any) -> str:
    """What a value of the wrong type was read as, and what to write instead, for a key that
    wants a number or a boolean; the spellings YAML 1.1 reads differently get their own advice."""
    if error_type not in ("int_type", "float_type", "bool_type"):
        return ""
    if isinstance(value, float) and error_type == "int_type" and value.is_integer():
        return f" (got {value!r}, a number with a fraction or exponent: write {int(value)})"
    if isinstance(value, int) and not isinstance(value, bool) and error_type == "float_type":
        return " (got an integer beyond the largest float, about 1.8e308)"
    if not isinstance(value, str):
        return ""
    if error_type == "bool_type":  # e.g. yes, no, on, off: booleans in YAML 1.1
        return f" (got the text {value!r}: write true or false)"
    if _OCTAL_LOOKING.fullmatch(value):
        return (f" (got the text {value!r}: a leading zero is ambiguous, octal in YAML 1.1; write the number "
                "without it, or 0o... for octal)")
    if _BASE_60.fullmatch(value):
        return f" (got the text {value!r}: base-60 numbers are not read; write the number itself)"
    return f" (got the text {value!r})"


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
        reason = error["msg"].removeprefix("Value error, ") + _hint(error["type"], error.get("input"))
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, KeyedValueError):
            loc, reason = loc + cause.loc, str(cause)
        if loc and loc[-1] == "[key]":  # a mapping key of the wrong type: the path ends at its mapping
            loc, reason = loc[:-2], f"key {error['input']!r} is not text: keys are names"
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
    """``"training.epochs=3"`` → ``("training.epochs", 3)``; the value is read as YAML by
    :class:`YamlLoader`, as it would be in a scenario file (``1e-3`` a float, ``yes`` text)."""
    if "=" not in text:
        raise ConfigError(None, text, "an override must read KEY.PATH=VALUE")
    path, raw = text.split("=", 1)
    try:
        return path.strip(), parse_yaml(raw)
    except YamlSyntaxError as exc:
        raise ConfigError(None, path.strip(), f"value {raw!r} is not valid YAML ({exc.problem})") from None
