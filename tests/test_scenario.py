"""The scenario schema as a discriminated union: ``topology.kind`` picks the class, and a
combination that does not run cannot be written."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.config.base import read_yaml, set_key
from neurosim.config.scenario import (
    SCENARIO_OF_TOPOLOGY,
    DirectedScenario,
    NetworkScenario,
    SweepConfig,
    load_scenario,
    scenario_from_dict,
)
from neurosim.errors import ConfigError

SCENARIO_DIR = Path(__file__).parent.parent / "scenarios"
FILES = sorted(SCENARIO_DIR.glob("*.yaml"))
CLASSES = (NetworkScenario, DirectedScenario)
TAGS = tuple(cls.__name__ for cls in CLASSES)
KINDS = "'layered', 'layer_skipping' (a Hopfield network) or 'complete_directed' (a directed graph)"


def kind_of(path: Path) -> str:
    return read_yaml(path)["topology"].get("kind", "layered")


NETWORK_FILES = [f for f in FILES if SCENARIO_OF_TOPOLOGY[kind_of(f)] is NetworkScenario]
DIRECTED_FILES = [f for f in FILES if SCENARIO_OF_TOPOLOGY[kind_of(f)] is DirectedScenario]
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def refusal(content: dict, path: Path) -> ConfigError:
    """The error validating ``content`` as if it were the file ``path``."""
    with pytest.raises(ConfigError) as info:
        scenario_from_dict(content, str(path), path.parent)
    return info.value


def test_every_topology_kind_names_one_scenario_class():
    declared = {kind: cls for cls in CLASSES for kind in
                typing.get_args(cls.model_fields["topology"].annotation.model_fields["kind"].annotation)}
    assert declared == SCENARIO_OF_TOPOLOGY
    assert NETWORK_FILES and DIRECTED_FILES


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_shipped_scenario_loads_into_the_class_its_topology_kind_names(path):
    scenario = load_scenario(path)
    assert type(scenario) is SCENARIO_OF_TOPOLOGY[kind_of(path)]
    assert scenario.topology.kind == kind_of(path)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_to_yaml_round_trips(path):
    scenario = load_scenario(path)
    again = scenario_from_dict(yaml.safe_load(scenario.to_yaml()), str(path), path.parent)
    assert again == scenario.model_copy(update={"sweep": SweepConfig()}), "the sweep grid is left out of to_yaml"
    assert again.to_yaml() == scenario.to_yaml() and again.digest() == scenario.digest()


NETWORK_ONLY = {
    "data": st.fixed_dictionaries({}, optional={"train_size": st.integers(1, 100), "test_size": st.integers(1, 100)}),
    "datapath": st.sampled_from(["ep", "bp"]),
    "compare": st.lists(st.sampled_from(["ep", "bp"]), unique=True),
}


@PROPERTY
@given(path=st.sampled_from(DIRECTED_FILES), key_value=st.sampled_from(sorted(NETWORK_ONLY)).flatmap(
    lambda key: st.tuples(st.just(key), NETWORK_ONLY[key])))
def test_directed_scenario_refuses_the_network_keys(path, key_value):
    key, value = key_value
    error = refusal({**read_yaml(path), key: value}, path)
    assert f"{key}: unknown key (allowed here: {', '.join(DirectedScenario.model_fields)})" in str(error)


@PROPERTY
@given(path=st.sampled_from(NETWORK_FILES), task=st.sampled_from(["and", "or", "xor"]),
       l1=st.floats(0.0, 1.0))
def test_network_scenario_refuses_a_directed_section(path, task, l1):
    error = refusal({**read_yaml(path), "directed": {"task": task, "l1": l1}}, path)
    assert f"directed: unknown key (allowed here: {', '.join(NetworkScenario.model_fields)})" in str(error)


@PROPERTY
@given(path=st.sampled_from(NETWORK_FILES), kind=st.sampled_from(["deep", "asymmetric"]),
       with_directed=st.booleans())
def test_directed_dynamics_on_a_network_topology_are_refused_naming_dynamics_kind(path, kind, with_directed):
    content = read_yaml(path)
    set_key(content, "dynamics.kind", kind)
    if with_directed:
        content["directed"] = {"task": "and"}
    assert "dynamics.kind: Input should be 'hopfield'" in str(refusal(content, path))


@PROPERTY
@given(path=st.sampled_from(FILES), kind=st.one_of(st.none(), st.integers(), st.text(max_size=20)).filter(
    lambda kind: kind not in SCENARIO_OF_TOPOLOGY))
def test_a_missing_or_unknown_topology_kind_names_the_allowed_kinds(path, kind):
    content = read_yaml(path)
    content["topology"] = {**content["topology"], "kind": kind}
    error = refusal(content, path)
    assert (error.key_path, error.reason) == ("topology.kind", f"Input should be {KINDS}")
    del content["topology"]
    assert str(refusal(content, path)) == f"{path}: topology.kind: Input should be {KINDS}"


def leaf_paths(content: dict, prefix: str = "") -> list[str]:
    """Dotted key paths of every value below ``content`` that is not itself a mapping."""
    paths = []
    for key, value in content.items():
        path = f"{prefix}{key}"
        paths += leaf_paths(value, path + ".") if isinstance(value, dict) and value else [path]
    return paths


VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 1000), st.floats(-2.0, 2.0), st.text(max_size=6),
                   st.lists(st.integers(-1, 12), max_size=4), st.dictionaries(st.text(min_size=1, max_size=4),
                                                                             st.integers(0, 3), max_size=2))


@PROPERTY
@given(data=st.data(), path=st.sampled_from(FILES), value=VALUES, unknown=st.booleans())
def test_error_key_paths_never_hold_the_union_tag(data, path, value, unknown):
    content = read_yaml(path)
    resolved = yaml.safe_load(load_scenario(path).to_yaml())
    key = data.draw(st.sampled_from(leaf_paths(resolved)))
    if unknown:
        key += "_x"
    try:
        set_key(content, key, value)
        scenario_from_dict(content, str(path), path.parent)
    except ConfigError as error:
        text = str(error)
        assert not any(tag in text for tag in TAGS), text
        fields = {name for cls in CLASSES for name in cls.model_fields} | {key.split(".")[0]}
        first = error.key_path.replace("[", ".").split(".")[0]
        assert first in fields, text
