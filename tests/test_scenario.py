"""The scenario schema as a discriminated union: ``topology.kind`` picks the class, and a
combination that does not run cannot be written."""

from __future__ import annotations

import time
import typing
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DEFAULT, directed_scenario, invoke_cli, network_scenario, with_changes
from neurosim.config.base import parse_override, read_yaml, set_key
from neurosim.config.scenario import (
    SCENARIO_OF_TOPOLOGY,
    DirectedScenario,
    NetworkScenario,
    SweepConfig,
    load_scenario,
    scenario_from_dict,
)
from neurosim.errors import ConfigError
from neurosim.models.topology import fraction_for, layered_with_intralayer_count, max_rewirings

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


def write(tmp_path: Path, content: dict | str | bytes, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    return path


def refused_file(path: Path, overrides: dict | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_scenario(path, overrides)
    return info.value


@pytest.mark.parametrize("content, reason", [
    ("", "the file is empty (or holds only comments): expected a mapping of keys"),
    ("# nothing but a comment\n", "the file is empty"),
    ("- a\n- list\n", "must be a YAML mapping of keys (KEY: VALUE lines), got a list"),
    ("just text\n", "must be a YAML mapping of keys (KEY: VALUE lines), got text"),
    ("42\n", "got an integer"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not UTF-8 text (byte 0x89 on line 1, at offset 0)"),
    (b"seed: 1\nname: caf\xe9\n", "is not UTF-8 text (byte 0xe9 on line 2, at offset 17)"),
    (b"name: a\x00b\n", "line 1, column 8: invalid YAML (character U+0000 is not allowed in YAML text"),
    ("topology: {sizes: [784, 10]\n", "invalid YAML"),
    ("a: &x [*x]\n", "line 1, column 4: invalid YAML (an alias refers to a mapping or list that contains it"),
    ('name: "\\UFFFFFFFF"\n', "(is there an escape beyond Unicode, such as \\UFFFFFFFF?)"),
    ('name: "\\uD800"\n', "line 1, column 7: invalid YAML (U+D800 is half of a UTF-16 surrogate pair"),
], ids=["empty", "comment", "list", "text", "number", "png", "latin-1", "nul", "syntax", "recursive", "escape",
        "surrogate"])
def test_a_file_that_is_no_scenario_is_named_with_the_reason(tmp_path, content, reason):
    path = write(tmp_path, content)
    error = refused_file(path)
    assert str(error).startswith(f"{path}: ") and reason in str(error), str(error)


@PROPERTY
@given(seed=st.one_of(st.integers(max_value=-1), st.integers(min_value=2**32)))
def test_a_negative_or_huge_seed_is_refused_in_the_file_and_on_the_command_line(seed, tmp_path_factory):
    directory = tmp_path_factory.mktemp("seed")
    path = write(directory, network_scenario(seed=seed))
    error = refused_file(path)
    assert error.key_path == "seed" and error.file == str(path)
    bound = "greater than or equal to 0" if seed < 0 else "less than or equal to 4294967295"
    assert bound in error.reason
    error = refused_file(write(directory, network_scenario()), dict([parse_override(f"seed={seed}")]))
    assert error.key_path == "seed" and error.file.endswith(f"s.yaml with --set seed={seed}") and bound in error.reason


def test_the_file_is_validated_before_an_override_replaces_its_value(tmp_path):
    path = write(tmp_path, network_scenario(**{"training.epochs": "ten"}))
    error = refused_file(path, {"training.epochs": 1})
    assert (error.file, error.key_path) == (str(path), "training.epochs")
    assert error.reason == "Input should be a valid integer (got the text 'ten')"
    good = write(tmp_path, network_scenario(), "good.yaml")
    error = refused_file(good, {"training.epochs": 2, "training.batch_size": 0, "dynamics.beta": -1})
    assert (error.file, error.key_path) == (f"{good} with --set training.batch_size=0", "training.batch_size")
    assert load_scenario(good, {"training.epochs": 2, "training.batch_size": 10}).training.batch_size == 10


def test_overrides_that_only_fit_together_are_validated_together(tmp_path):
    """Switching the data source needs two keys: neither alone is a valid scenario, both are.
    A bad one among several good ones is still named alone."""
    path = write(tmp_path, network_scenario())
    both = load_scenario(path, {"data.source": "idx", "data.path": str(tmp_path)})
    assert (both.data.source, both.data.path) == ("idx", str(tmp_path))
    for key, value in (("data.source", "idx"), ("data.path", str(tmp_path))):
        error = refused_file(path, {key: value})
        assert error.file == f"{path} with --set {key}={value}" and error.key_path.startswith("data")
    error = refused_file(path, {"data.source": "idx", "data.path": str(tmp_path), "training.batch_size": 0})
    assert (error.file, error.key_path) == (f"{path} with --set training.batch_size=0", "training.batch_size")


def test_an_override_below_a_value_names_the_override(tmp_path):
    error = refused_file(write(tmp_path, network_scenario()), {"seed.x": 1})
    assert (error.file.endswith("with --set seed.x=1"), error.key_path) == (True, "seed.x")


@PROPERTY
@given(sizes=st.lists(st.integers(1, 40), min_size=3, max_size=5), mode=st.sampled_from(["replace", "add"]),
       beyond=st.integers(1, 10**7))
def test_topology_n_beyond_its_maximum_is_refused_at_validation_naming_the_maximum(sizes, mode, beyond):
    content = network_scenario(topology={"kind": "layer_skipping", "sizes": sizes, "mode": mode})
    limit = max_rewirings(sizes, mode)
    assert scenario_from_dict(with_changes(content, **{"topology.n": limit})).topology.n == limit
    error = refusal(with_changes(content, **{"topology.n": limit + beyond}), Path("s.yaml"))
    assert error.key_path == "topology.n"
    assert error.reason.startswith(f"{limit + beyond:,} rewirings, but at most {limit:,} are possible: mode '{mode}'")


@pytest.mark.parametrize("mode", ["replace", "add"])
def test_an_impossible_n_on_the_paper_sizes_is_refused_at_once(mode, tmp_path):
    """n = 10⁷ on 784-20-10 kept validation busy for minutes (building the topology)."""
    path = write(tmp_path, network_scenario(topology={"kind": "layer_skipping", "sizes": [784, 20, 10], "mode": mode,
                                                      "n": 0}))
    started = time.perf_counter()
    error = refused_file(path, {"topology.n": 10_000_000})
    assert time.perf_counter() - started < 1
    limit = {"add": "7,840", "replace": "23,910"}[mode]
    assert error.key_path == "topology.n" and f"at most {limit} are possible" in error.reason


def test_a_p_standing_for_too_many_rewirings_is_refused_with_the_largest_p():
    content = network_scenario(topology={"kind": "layer_skipping", "sizes": [784, 20, 10], "p": 0.9})
    error = refusal(content, Path("s.yaml"))
    largest = fraction_for(23_910, layered_with_intralayer_count([784, 20, 10]))
    assert error.key_path == "topology.p" and error.reason.endswith(f"p must be at most {largest:.4f}")
    scenario_from_dict(with_changes(content, **{"topology.p": float(f"{largest:.4f}") - 1e-4}))


@pytest.mark.parametrize("changes, key, prefix", [
    ({"compare": ["ep", "bp"]}, "compare[1]", "'bp' cannot run here: "),
    ({"compare": ["bp"], "datapath": "ep"}, "compare[0]", "'bp' cannot run here: "),
    ({"datapath": "bp"}, "datapath", ""),
])
def test_backprop_on_a_layer_skipping_topology_is_refused_by_the_validator(changes, key, prefix, tmp_path):
    content = network_scenario(changes, topology={"kind": "layer_skipping", "sizes": [784, 12, 1, 10], "n": 3})
    error = refusal(content, Path("s.yaml"))
    assert error.key_path == key
    assert error.reason.startswith(f"{prefix}backprop needs a feed-forward network, but connections inside a layer "
                                   "(1-1) form cycles")
    result = invoke_cli("validate", write(tmp_path, content))
    assert result.exit_code == 1 and isinstance(result.exception, ConfigError) and result.exception.key_path == key


def test_backprop_runs_on_layer_skipping_with_single_neuron_hidden_layers():
    """No hidden layer holds two neurons, so Algorithm 1 cannot connect one inside a layer."""
    content = network_scenario(compare=["ep", "bp"], topology={"kind": "layer_skipping", "sizes": [784, 1, 1, 10],
                                                                "n": 50})
    assert scenario_from_dict(content).compare == ["ep", "bp"]


@pytest.mark.parametrize("content, reason", [
    (network_scenario(**{"data.train_size": 40, "training.batch_size": 41}),
     "41 is more than the 40 training examples (data.train_size): use at most 40"),
    (network_scenario(data={"train_size": DEFAULT, "test_size": 20}, **{"training.batch_size": 8001}),
     "8001 is more than the 8,000 training examples (the embedded digits' default training set)"),
    (directed_scenario(**{"training.batch_size": 5}), "5 is more than the 4 training examples (the logic task's"),
    (directed_scenario(**{"training.batch_size": DEFAULT}), "20 (the default) is more than the 4 training examples"),
])
def test_a_batch_larger_than_the_training_set_is_refused(content, reason):
    error = refusal(content, Path("s.yaml"))
    assert error.key_path == "training.batch_size" and reason in error.reason, error.reason


def test_a_batch_of_the_whole_training_set_is_allowed():
    assert scenario_from_dict(network_scenario(**{"training.batch_size": 40})).training.batch_size == 40
    assert scenario_from_dict(directed_scenario(**{"training.batch_size": 4})).training.batch_size == 4


def test_embedded_sizes_beyond_the_shipped_digits_are_refused_at_validation():
    error = refusal(network_scenario(data={"train_size": 9000, "test_size": DEFAULT}), Path("s.yaml"))
    assert error.key_path == "data" and "train_size + test_size = 11000 exceeds the 10,000 embedded" in error.reason


@pytest.mark.parametrize("threads, ok", [(DEFAULT, True), (1, True), (16, True), (0, False), (2.0, False), ("4", False)])
def test_training_threads_is_a_positive_integer_defaulting_to_one(threads, ok):
    content = network_scenario(**{"training.threads": threads})
    if ok:
        assert scenario_from_dict(content).training.threads == (1 if threads is DEFAULT else threads)
    else:
        assert refusal(content, Path("s.yaml")).key_path == "training.threads"


@pytest.mark.parametrize("changes, key, words", [
    ({"data": {"source": "idx", "path": "mnist\x00"}}, "data.path", "is not a usable path"),
    ({"devices": "chip\x00.yaml"}, "", "is not a usable file name"),
    ({"device_overrides": {"name.bits": 3}}, "device_overrides.name.bits", "'name' is not a section"),
    ({"training.learning_rate": 2**1100}, "training.learning_rate", "must be a finite number"),
    ({"training.learning_rate": [0.1, float("inf")]}, "training.learning_rate", "rate [1] must be a finite number"),
    ({"dynamics.beta": 2**1100}, "dynamics.beta", "(got an integer beyond the largest float"),
    ({"sweep.grid": {None: [1]}}, "sweep.grid", "key None is not text: keys are names"),
    ({"topology": {"kind": "layer_skipping", "sizes": [2**1100, 5, 10], "p": 0.1}}, "topology.sizes",
     "at most 2,147,483,647 (2³¹ − 1)"),
], ids=["nul data path", "nul device path", "override below a value", "huge rate", "infinite rate", "huge beta",
        "null key", "huge layer"])
def test_values_at_the_edges_of_their_type_are_refused_with_their_key(changes, key, words):
    """Each of these used to raise something other than a ConfigError (a traceback)."""
    error = refusal(network_scenario(changes), SCENARIO_DIR / "s.yaml")
    assert error.key_path == key and words in error.reason, str(error)
