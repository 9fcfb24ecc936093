"""Learning rates per layer pair: one global rate, or the paper's per-layer rates.

A weight of layer pair (a, b) moves by α_ab·ΔW; a bias of layer l by α_(l−1)l·Δb.
"""

from __future__ import annotations

import math

import numpy as np

from neurosim.errors import ConfigError
from neurosim.config.scenario import TrainingConfig, parse_pair
from neurosim.models.topology import LayerPair, Topology, pair_name


def pair_rates(topology: Topology, training: TrainingConfig) -> dict[LayerPair, float]:
    """The learning rate of every layer pair of ``topology`` under ``training``'s rule."""
    rate = training.learning_rate
    if isinstance(rate, float):
        return {pair: rate for pair in topology.pairs}
    last = topology.output_layer
    if isinstance(rate, list):
        if len(rate) != last:
            raise ConfigError(None, "training.learning_rate",
                              f"{len(rate)} per-layer rates given for {last} adjacent layer pairs")
        explicit = {(a, a + 1): r for a, r in enumerate(rate)}
    else:
        explicit = {parse_pair(key): r for key, r in rate.items()}
        for a, b in explicit:
            if b > last:
                raise ConfigError(None, "training.learning_rate",
                                  f"pair {a}-{b} names layer {b}, but the output layer is {last}")
            if (a, b) not in topology.masks:
                raise ConfigError(None, "training.learning_rate",
                                  f"pair {a}-{b} has no connections in this topology")
        missing = [pair_name((a, a + 1)) for a in range(last) if (a, a + 1) not in explicit]
        if missing:
            raise ConfigError(None, "training.learning_rate", f"no rate for adjacent pair(s) {', '.join(missing)}")
    adjacent = {a: explicit[(a, a + 1)] for a in range(last)}
    return {pair: explicit[pair] if pair in explicit else
            _nonadjacent(pair, adjacent, training.nonadjacent_rate, last) for pair in topology.pairs}


def _nonadjacent(pair: LayerPair, adjacent: dict[int, float], rule: str, last: int) -> float:
    a, b = pair
    if rule == "lower":
        return adjacent[min(a, last - 1)]
    if rule == "upper":
        return adjacent[max(b - 1, 0)]
    if a == b:
        spanned = [adjacent[k] for k in (a - 1, a) if 0 <= k < last]
    else:
        spanned = [adjacent[k] for k in range(a, b)]
    return math.exp(sum(math.log(r) for r in spanned) / len(spanned))


def bias_rates(topology: Topology, rates: dict[LayerPair, float], training: TrainingConfig) -> np.ndarray:
    """Rate of every non-input neuron's bias: layer l takes the rate of pair (l−1)-l."""
    if isinstance(training.learning_rate, float):
        per_layer = [training.learning_rate] * (topology.n_layers - 1)
    else:
        per_layer = [rates.get((l - 1, l), _fallback(rates, l)) for l in range(1, topology.n_layers)]
    return np.repeat(np.asarray(per_layer), topology.layer_sizes[1:])


def _fallback(rates: dict[LayerPair, float], layer: int) -> float:
    """Rate for a layer whose adjacent pair was rewired away entirely (layer-skipping)."""
    touching = [r for (a, b), r in rates.items() if layer in (a, b)]
    return math.exp(sum(math.log(r) for r in touching) / len(touching))
