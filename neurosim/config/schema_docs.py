"""Markdown reference of a configuration schema, written from its field declarations.

``python -m neurosim.config.schema_docs > docs/scenario.md`` regenerates the scenario reference,
``python -m neurosim.config.schema_docs devices > docs/devices-reference.md`` the device-file
reference; a test keeps the committed files in step with the code.
"""

from __future__ import annotations

import inspect
import re
import typing

from pydantic import BaseModel
from pydantic_core import PydanticUndefined


def _type_name(annotation) -> str:
    text = getattr(annotation, "__name__", None) if not typing.get_args(annotation) else None
    return text or str(annotation).replace("typing.", "").replace("NoneType", "None")


_SYMBOLS = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤", "min_length": "at least", "max_length": "at most"}


def _constraint(metadata) -> str:
    """``Ge(ge=1)`` → ``≥ 1``; ``MinLen(min_length=2)`` → ``at least 2``."""
    for attr, symbol in _SYMBOLS.items():
        if hasattr(metadata, attr):
            return f"{symbol} {getattr(metadata, attr)}"
    return str(metadata)


def _anchor(title: str) -> str:
    """The link target GitHub gives a heading: ``"`a.b` (c_d)"`` → ``ab-c_d``."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def markdown(model: type[BaseModel], prefix: str = "", heading: str = "##", *, title: str | None = None,
             fields: list[str] | None = None, suffix: str = "") -> str:
    """One table per section: key, type, default, meaning (the field's docstring).

    ``title`` replaces the top heading, ``fields`` limits its table to those keys, and
    ``suffix`` follows the heading of every nested section (telling apart the sections of
    one key in different scenario kinds).
    """
    title = title or (f"`{prefix.rstrip('.')}`{suffix}" if prefix else model.__name__)
    lines = [f"{heading} {title}", "", inspect.cleandoc(model.__doc__ or ""), "",
             "| key | type | default | meaning |", "|---|---|---|---|"]
    nested = []
    for name in fields or model.model_fields:
        field = model.model_fields[name]
        annotation = field.annotation
        section = next((a for a in (annotation, *typing.get_args(annotation))
                        if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if section is not None and getattr(section, "inline_in_docs", False):
            meaning = " ".join((field.description or "").split())
            lines.append(f"| `{name}` | `{section.__name__}` | {field.default.summary()} | {meaning} |")
            continue
        if section is not None:
            nested.append((name, section))
            optional = " (optional)" if section is not annotation else ""
            meaning = " ".join((field.description or "").split())
            link = f"see [`{prefix + name}`](#{_anchor(f'`{prefix + name}`{suffix}')}) below"
            lines.append(f"| `{name}` | section{optional} | | {f'{meaning} ({link})' if meaning else link} |")
            continue
        if field.default is PydanticUndefined:
            default = "**required**"
        else:
            default = f"`{field.default!r}`"
        meaning = " ".join((field.description or "").split())
        constraints = ", ".join(_constraint(m) for m in field.metadata)
        if constraints:
            meaning += f" ({constraints})"
        kind = _type_name(annotation).replace("|", "\\|")
        lines.append(f"| `{name}` | `{kind}` | {default} | {meaning} |")
    text = "\n".join(lines) + "\n"
    for name, section in nested:
        text += "\n" + markdown(section, f"{prefix}{name}.", heading, suffix=suffix)
    return text


VALUES = """## How values are read

Scenario files, device files, `--set KEY=VALUE` and `--grid KEY=V1,V2` values are read by one
YAML reader (`neurosim.config.base.YamlLoader`), with YAML 1.2's rules for unquoted values
rather than the YAML 1.1 rules of PyYAML's default:

| written | read as | YAML 1.1 would read |
|---|---|---|
| `1e-3`, `5e-2`, `1.0e30`, `-1E+5`, `.5`, `5.`, `.inf`, `.nan` | a number (float) | `1e-3` to `-1E+5`: text |
| `10`, `-3`, `1_000`, `0o17`, `0x1F` | an integer (`_` between digits, `0o` octal, `0x` hexadecimal) | the same, but `0o17`: text |
| `true`, `false` (also `True`, `TRUE`, ...) | a boolean | the same |
| `yes`, `no`, `on`, `off` | text | a boolean |
| `010`, `0755` | text: a leading zero is ambiguous | octal (8, 493) |
| `1:20` | text (a trace range) | 80 (base 60) |
| `2024-01-01` | text | a date |
| `null`, `~`, nothing | null | the same |

A key that wants a number or a boolean refuses text, with a message naming the key and what to
write (`training.shuffle: Input should be a valid boolean (got the text 'yes': write true or
false)`); a key that wants an integer refuses `1e5` (write `100000` or `100_000`). Duplicate
keys, explicit tags such as `!!binary`, recursive aliases, nesting deeper than 32 levels and
files that are empty, not UTF-8 or not a mapping of keys are refused with the file and line.
`<<: *anchor` merges a mapping, the keys beside it taking precedence.
"""
"""The section of the scenario reference on how values are typed (see ``config.base``)."""


def scenario_reference() -> str:
    """Every scenario's keys once, then the keys of each kind that ``topology.kind`` selects."""
    from neurosim.config.scenario import SCENARIO_OF_TOPOLOGY, ScenarioBase

    shared = "Every scenario"
    kinds = {scenario: [k for k, s in SCENARIO_OF_TOPOLOGY.items() if s is scenario]
             for scenario in SCENARIO_OF_TOPOLOGY.values()}
    titles = {scenario: "`topology.kind`: " + ", ".join(f"`{k}`" for k in names) for scenario, names in kinds.items()}
    text = ("# Scenario file reference\n\n"
            "Generated from the schema in `neurosim/config/scenario.py` by `python -m neurosim.config.schema_docs`; "
            "do not edit by hand.\n\n"
            f"A scenario holds the keys of [every scenario](#{_anchor(shared)}) and those of its kind, "
            "which `topology.kind` selects (`layered` when the topology gives no kind):\n\n")
    for scenario, title in titles.items():
        summary = " ".join(inspect.cleandoc(scenario.__doc__).split())
        text += f"- {title.removeprefix('`topology.kind`: ')}: {summary} [Keys](#{_anchor(title)}).\n"
    text += "\n" + VALUES
    text += "\n" + markdown(ScenarioBase, title=shared)
    for scenario, title in titles.items():
        own = [name for name in scenario.model_fields if name not in ScenarioBase.model_fields]
        text += "\n" + markdown(scenario, title=title, fields=own, suffix=f" ({', '.join(kinds[scenario])})")
    return text


def devices_reference() -> str:
    from neurosim.devices.spec import DeviceSpec

    return ("# Device file reference\n\n"
            "Generated from the schema in `neurosim/devices/spec.py` by "
            "`python -m neurosim.config.schema_docs devices`; do not edit by hand. "
            "What the points mean and how to use them: [devices.md](devices.md).\n\n" + markdown(DeviceSpec))


if __name__ == "__main__":
    import sys

    print(devices_reference() if sys.argv[1:] == ["devices"] else scenario_reference(), end="")
