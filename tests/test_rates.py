"""Learning rates per layer pair and per bias."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.errors import ConfigError
from neurosim.learning.rates import bias_rates, pair_rates
from neurosim.config.scenario import TrainingConfig
from neurosim.models.topology import layer_skipping, layered


def test_global_rate_applies_everywhere():
    topo = layer_skipping([4, 3, 3, 2], np.random.default_rng(0), n=5)
    training = TrainingConfig(learning_rate=0.02)
    assert set(pair_rates(topo, training).values()) == {0.02}
    assert np.all(bias_rates(topo, pair_rates(topo, training), training) == 0.02)


@pytest.mark.parametrize("rule, expected_11, expected_02", [
    ("lower", 0.032, 0.128),
    ("upper", 0.128, 0.032),
    ("geometric", np.sqrt(0.128 * 0.032), np.sqrt(0.128 * 0.032)),
])
def test_per_layer_rates_and_nonadjacent_rules(rule, expected_11, expected_02):
    topo = layer_skipping([6, 5, 5, 5, 2], np.random.default_rng(0), n=40)
    training = TrainingConfig(learning_rate=[0.128, 0.032, 0.008, 0.002], nonadjacent_rate=rule)
    rates = pair_rates(topo, training)
    assert rates[(0, 1)] == 0.128 and rates[(3, 4)] == 0.002
    assert rates[(1, 1)] == pytest.approx(expected_11)
    if (0, 2) in rates:
        assert rates[(0, 2)] == pytest.approx(expected_02)
    biases = bias_rates(topo, rates, training)
    assert list(np.unique(biases)) == sorted([0.128, 0.032, 0.008, 0.002])
    assert biases[0] == 0.128 and biases[-1] == 0.002  # hidden layer 1 ← pair 0-1; output ← pair 3-4


def test_explicit_pair_mapping_overrides_the_rule():
    topo = layer_skipping([4, 3, 3, 2], np.random.default_rng(0), n=0)
    rates = pair_rates(topo, TrainingConfig(learning_rate={"0-1": 0.1, "1-2": 0.05, "2-3": 0.01, "1-1": 0.5}))
    assert rates[(1, 1)] == 0.5


@pytest.mark.parametrize("rate, message", [
    ([0.1], "1 per-layer rates given for 2 adjacent layer pairs"),
    ({"0-1": 0.1}, "no rate for adjacent pair"),
    ({"0-1": 0.1, "1-2": 0.1, "0-2": 0.1}, "no connections in this topology"),
    ({"0-1": 0.1, "1-2": 0.1, "2-5": 0.1}, "output layer is 2"),
])
def test_rate_errors_name_the_key(rate, message):
    with pytest.raises(ConfigError, match=message) as info:
        pair_rates(layered([3, 2, 2]), TrainingConfig(learning_rate=rate))
    assert info.value.key_path == "training.learning_rate"
