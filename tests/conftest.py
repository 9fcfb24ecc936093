"""Shared test helpers: scenario builders, scenario files, the command line, and small
networks built directly from the library's parts.

Scenarios are plain dicts built from two small, fast defaults and changed by keyword:

    network_scenario(seed=4, **{"training.epochs": 2, "topology.sizes": [784, 30, 10]})
    directed_scenario(name="xor", changes={"directed": {"task": "xor"}})

A key is a dotted key path; a mapping value is merged into the section it names, a plain
value replaces it, and :data:`DEFAULT` removes it (the schema's default then applies).
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from neurosim.learning.ep import EquilibriumPropagation
from neurosim.learning.rules import Beta, EPRule
from neurosim.models.network import Network
from neurosim.config.scenario import DynamicsConfig
from neurosim.devices.spec import DeviceSpec, Quantisers
from neurosim.models.topology import Topology

ROOT = Path(__file__).parent.parent
"""The repository root."""
SCENARIOS = ROOT / "scenarios"
"""The shipped scenario files."""
DEVICES = ROOT / "devices"
"""The shipped device files."""


class _Default:
    """The type of :data:`DEFAULT` (one instance, kept by copies)."""

    def __repr__(self) -> str:
        return "DEFAULT"

    def __copy__(self) -> _Default:
        return self

    def __deepcopy__(self, memo: dict) -> _Default:
        return self


DEFAULT = _Default()
"""A change that removes its key from the scenario, so that the schema's default applies."""

NETWORK = {
    "seed": 1,
    "data": {"source": "embedded", "train_size": 40, "test_size": 20},
    "topology": {"kind": "layered", "sizes": [784, 8, 10]},
    "dynamics": {"t_free": 5, "t_clamped": 2},
    "training": {"epochs": 1, "batch_size": 20, "learning_rate": 0.05},
}
"""What :func:`network_scenario` starts from: one epoch of EP on 40 embedded digits, a
784-8-10 layered network, 5 free and 2 weakly-clamped steps (a fraction of a second)."""

DIRECTED = {
    "seed": 0,
    "topology": {"kind": "complete_directed", "sizes": [2, 5, 1]},
    "dynamics": {"kind": "deep", "epsilon": 0.2, "beta": 0.5, "t_free": 40, "t_clamped": 10},
    "training": {"epochs": 20, "batch_size": 4, "learning_rate": 0.5, "dtype": "float64"},
    "directed": {"task": "and"},
}
"""What :func:`directed_scenario` starts from: DEEP learning AND on the DEEP paper's
8-neuron complete directed graph, 20 epochs of the four examples in one batch."""


def _put(node: dict, key: str, value: Any) -> None:
    if value is DEFAULT:
        node.pop(key, None)
    elif isinstance(value, Mapping):
        if not isinstance(node.get(key), dict):
            node[key] = {}
        for inner, v in value.items():  # keys inside a mapping are keys, not key paths
            _put(node[key], inner, v)
    else:
        node[key] = copy.deepcopy(value)


def with_changes(content: Mapping[str, Any], changes: Mapping[str, Any] | None = None, **more: Any) -> dict:
    """A deep copy of ``content`` with ``changes``, then ``more``, applied: each key a dotted
    key path (``"training.epochs"``); a mapping value is merged into the section there, any
    other value replaces what is there, :data:`DEFAULT` removes the key."""
    out = copy.deepcopy(dict(content))
    for path, value in {**(changes or {}), **more}.items():
        *sections, last = path.split(".")
        node = out
        for key in sections:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise TypeError(f"{path}: '{key}' is a value, not a section")
        _put(node, last, value)
    return out


def network_scenario(changes: Mapping[str, Any] | None = None, **more: Any) -> dict:
    """A small, fast Hopfield-network scenario (:data:`NETWORK`) as a plain dict, changed
    as :func:`with_changes` says."""
    return with_changes(NETWORK, changes, **more)


def directed_scenario(changes: Mapping[str, Any] | None = None, **more: Any) -> dict:
    """A small, fast directed-graph scenario (:data:`DIRECTED`) as a plain dict, changed
    as :func:`with_changes` says."""
    return with_changes(DIRECTED, changes, **more)


def write_scenario(directory: Path, content: Mapping[str, Any] | str, name: str = "scenario.yaml") -> Path:
    """Write a scenario (a mapping, or YAML text as it is) to ``directory / name``; its path."""
    path = Path(directory) / name
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(dict(content)))
    return path


def run_cli(monkeypatch, capsys, *args) -> tuple[int, str, str]:
    """``neurosim ARGS`` through the console entry point: (exit code, stdout, stderr)."""
    from neurosim.cli import main

    monkeypatch.setattr(sys, "argv", ["neurosim", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        main()
        raise SystemExit(0)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def run_main(*args) -> int:
    """``neurosim ARGS`` through the console entry point, for module-scoped fixtures (no
    ``monkeypatch`` or ``capsys`` there): the exit code; the output goes where pytest puts it."""
    from neurosim.cli import main

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["neurosim", *map(str, args)])
        with pytest.raises(SystemExit) as info:
            main()
            raise SystemExit(0)
    return info.value.code


def invoke_cli(*args):
    """``neurosim ARGS`` through click's test runner (exceptions are kept, not printed):
    the :class:`click.testing.Result`."""
    from click.testing import CliRunner

    from neurosim.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


def quantisers(spec: Mapping[str, Any], seed: int = 0) -> Quantisers:
    """The quantisers of the device sections ``spec`` (a mapping as in a device file)."""
    return Quantisers.build(DeviceSpec.model_validate(spec), seed)


def on_levels(values: np.ndarray, quantiser) -> np.ndarray:
    """Element-wise: is each value one of the quantiser's levels?"""
    return np.isin(values, quantiser.levels().astype(values.dtype))


def full_matrix(network: Network) -> np.ndarray:
    """The symmetric N × N weight matrix over all neurons, assembled from the blocks."""
    topo = network.topology
    w = np.zeros((topo.offsets[-1],) * 2)
    for (a, b), block in network.synapses.weights.items():
        w[topo.layer_slice(a), topo.layer_slice(b)] = block
        w[topo.layer_slice(b), topo.layer_slice(a)] = block.T
    return w


def controller_for(network: Network, epsilon: float = 0.5, steps: int = 10, nudge: str = "split",
                   estimator: str = "random_sign", beta: float = 1.0) -> EquilibriumPropagation:
    dynamics = DynamicsConfig(epsilon=epsilon, beta=beta, t_free=steps, t_clamped=steps, nudge=nudge,
                              estimator=estimator)
    rates = {pair: 1.0 for pair in network.topology.pairs}
    rule = EPRule(Beta(dynamics.beta, dynamics.estimator))
    return EquilibriumPropagation(network, dynamics, rule, rates, np.ones(network.topology.n_state))


def random_network(topology: Topology, rng: np.random.Generator, scale: float, bias: float = 0.0) -> Network:
    """Float64 network with uniform weights in [−scale, scale] on every existing connection."""
    weights = {}
    for (a, b) in topology.pairs:
        w = rng.uniform(-scale, scale, (topology.layer_sizes[a], topology.layer_sizes[b]))
        if a == b:
            w = np.triu(w, 1) + np.triu(w, 1).T
        if topology.masks[(a, b)] is not None:
            w = w * topology.masks[(a, b)]
        weights[(a, b)] = w
    network = Network.create(topology, weights, np.float64)
    network.neurons.bias[:] = bias + rng.uniform(-0.1, 0.1, topology.n_state)
    return network


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
