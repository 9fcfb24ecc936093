"""From a validated scenario to what the training loop drives: data, model, controller.

Every scenario kind goes through here: a Hopfield network (layered or layer-skipping) with
the EP or backprop controller, or a complete directed graph with DEEP or asymmetric EP.
Every random choice derives from the scenario's seed, each from its own named stream.
"""

from __future__ import annotations

import numpy as np

from neurosim.config.scenario import Scenario
from neurosim.data.datasets import Dataset, load_dataset
from neurosim.data.tasks import logic_task
from neurosim.errors import ConfigError
from neurosim.learning.backprop import Backpropagation
from neurosim.learning.directed import DirectedEP, directed_rule
from neurosim.learning.ep import EquilibriumPropagation
from neurosim.learning.rates import bias_rates, pair_rates
from neurosim.learning.rules import Beta, EPRule
from neurosim.models.directed import build_directed
from neurosim.models.network import build_network
from neurosim.streams import stream

Controller = EquilibriumPropagation | Backpropagation | DirectedEP


def is_directed(scenario: Scenario) -> bool:
    return scenario.dynamics.kind != "hopfield"


def load_data(scenario: Scenario) -> Dataset:
    """The scenario's examples: MNIST (embedded or IDX) for a network, the logic task's
    truth table (training and test set alike) for a directed graph."""
    if is_directed(scenario):
        x, y = logic_task(scenario.directed.task)
        dtype = np.dtype(scenario.training.dtype)
        return Dataset(x.astype(dtype), y.astype(dtype), x.astype(dtype), y.astype(dtype),
                       f"{scenario.directed.task} truth table")
    return load_dataset(scenario.data)


def build_controller(scenario: Scenario, dataset: Dataset) -> Controller:
    """The model a scenario describes and the controller that drives it (every check of the
    scenario against the data happens here)."""
    beta = Beta(scenario.dynamics.beta, scenario.dynamics.estimator)
    if is_directed(scenario):
        return DirectedEP(build_directed(scenario), scenario.dynamics, scenario.directed,
                          directed_rule(scenario.dynamics, scenario.directed, beta),
                          scenario.training.learning_rate, stream(scenario.seed, "sparsity"))
    size, examples = scenario.training.batch_size, len(dataset.train_x)
    if size > examples:  # known only now for IDX files read whole
        raise ConfigError(None, "training.batch_size", f"{size} is more than the {examples:,} training examples "
                                                       f"of {dataset.name}: use at most {examples:,}")
    network = build_network(scenario, dataset.n_inputs, dataset.n_classes)
    rates = pair_rates(network.topology, scenario.training)
    per_bias = bias_rates(network.topology, rates, scenario.training)
    if scenario.datapath == "bp":
        return Backpropagation(network, rates, per_bias)
    return EquilibriumPropagation(network, scenario.dynamics, EPRule(beta), rates, per_bias)
