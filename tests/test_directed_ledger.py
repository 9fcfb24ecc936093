"""The action ledger of directed runs against counts derived by hand on the paper's 8-neuron graph."""

from __future__ import annotations

import h5py
import pytest

from conftest import DEFAULT, directed_scenario
from neurosim.config.scenario import scenario_from_dict
from neurosim.observe.recorder import recording
from neurosim.training.loop import train


def scenario(kind: str, sparsity: bool = False, devices=DEFAULT):
    """OR in 3 epochs of batches of 2, M0 = 5 and Mβ = 3 steps (the counts below)."""
    return scenario_from_dict(directed_scenario(
        name=kind, seed=3, devices=devices,
        dynamics={"kind": kind, "t_free": 5, "t_clamped": 3}, training={"epochs": 3, "batch_size": 2},
        directed={"task": "or", "sparsity": sparsity, "sparsity_start": 0, "threshold": 0.2, "temperature": 0.05},
        trace={"enabled": False}))  # the ledger only


def ledger_of(tmp_path, s) -> tuple[dict, dict, object]:
    path = tmp_path / f"{s.name}.h5"
    with recording(path, s) as observers:
        run = train(s, observers=observers)
    with h5py.File(path) as f:
        g = f["ledger"]
        keys = zip(g["phase"].asstr()[()], g["device"].asstr()[()], g["action"].asstr()[()])
        counts = dict(zip(keys, g["count"][()].tolist()))
        return counts, dict(g.attrs), run


# The 8-neuron graph by hand: P = 2 inputs, F = 6 non-input neurons, O = 1 output.
# Connections i → j exist for every i ≠ j with j ≥ 2 (no connection into an input):
# C = 8·6 − 6 = 42; from a lower- to a higher-numbered neuron, j = 2..7 has j of them:
# C→ = 2 + 3 + 4 + 5 + 6 + 7 = 27; the other direction C← = 42 − 27 = 15 (5 + 4 + 3 + 2 + 1).
# B = 6 biases. 3 epochs × 4 examples in batches of 2: 12 examples, 6 updates; M0 = 5, Mβ = 3;
# after each epoch the 4 examples are relaxed freely once more: 12 inference examples.
P, F, O, C_FWD, C_BWD, B = 2, 6, 1, 27, 15, 6
EXAMPLES, UPDATES, M0, MB = 12, 6, 5, 3


def step(phase: str, steps: int, examples: int) -> dict:
    """Actions of ``steps`` integration steps of ``examples`` examples."""
    n = steps * examples
    out = {("input", "dac"): P * n, ("synapse", "mac_forward"): C_FWD * n, ("synapse", "mac_backward"): C_BWD * n,
           ("synapse", "weight_read"): (C_FWD + C_BWD) * n, ("neuron", "bias_read"): B * n}
    out.update({("neuron", a): F * n for a in ("dac", "integrate", "adc", "rho")})
    return {(phase, *key): v for key, v in out.items()}


def expected(kind: str) -> dict:
    counts = {**step("free", M0, EXAMPLES), ("free", "neuron", "write_u0"): F * EXAMPLES,
              **step("weakly-clamped", MB, EXAMPLES), ("weakly-clamped", "neuron", "nudge"): O * MB * EXAMPLES,
              ("weakly-clamped", "neuron", "read_u0"): F * EXAMPLES,
              ("update", "synapse", "weight_read"): 42 * UPDATES, ("update", "synapse", "weight_write"): 42 * UPDATES,
              ("update", "neuron", "bias_read"): B * UPDATES, ("update", "neuron", "bias_write"): B * UPDATES,
              **step("inference", M0, EXAMPLES)}
    if kind == "deep":  # the path integral: every clamped step, one product per connection
        counts.update({("update", "neuron", "dac"): F * MB * EXAMPLES,
                       ("update", "synapse", "update_mac"): 42 * MB * EXAMPLES,
                       ("update", "neuron", "bias_accumulate"): B * MB * EXAMPLES})
    else:  # s_i⁰ (s_j^β − s_j⁰) from the memory cells, once per example
        counts.update({("weakly-clamped", "neuron", "write_ubeta"): F * EXAMPLES,
                       ("update", "input", "dac"): P * EXAMPLES, ("update", "neuron", "read_u0"): F * EXAMPLES,
                       ("update", "neuron", "read_ubeta"): F * EXAMPLES, ("update", "neuron", "dac"): 2 * F * EXAMPLES,
                       ("update", "synapse", "update_mac"): 42 * EXAMPLES,
                       ("update", "neuron", "bias_accumulate"): B * EXAMPLES})
    return counts


@pytest.mark.parametrize("kind", ["deep", "asymmetric"])
def test_directed_ledger_matches_the_hand_counts(tmp_path, kind):
    counts, attrs, _ = ledger_of(tmp_path, scenario(kind))
    assert counts == expected(kind)
    assert (attrs["examples"], attrs["test_examples"], attrs["epochs"]) == (EXAMPLES, EXAMPLES, 3)
    assert attrs["datapath"] == "ep" and attrs["dynamics"] == kind and attrs["float_bits"] == 64


def test_removed_connections_cost_nothing(tmp_path):
    counts, _, run = ledger_of(tmp_path, scenario("deep", sparsity=True))
    bank = run.model.synapses
    assert bank.sparsity() > 0
    macs = counts[("free", "synapse", "mac_forward")] + counts[("free", "synapse", "mac_backward")]
    final_live = int(bank.alive[: run.model.graph.n].sum())
    # every update ran on between the final and the full number of live connections, and fewer than all of them once
    assert final_live * M0 * EXAMPLES <= macs < 42 * M0 * EXAMPLES
    assert counts[("update", "synapse", "weight_write")] < 42 * UPDATES


def test_ledger_bits_follow_the_device_file(tmp_path):
    s = scenario("deep", devices={"synapse": {"weight": {"bits": 4}}, "neuron": {"current": {"bits": 6}}})
    path = tmp_path / "q.h5"
    with recording(path, s) as observers:
        train(s, observers=observers)
    with h5py.File(path) as f:
        g = f["ledger"]
        bits = dict(zip(g["action"].asstr()[()], g["bits"][()].tolist()))
    assert bits["mac_forward"] == 4 and bits["adc"] == 6 and bits["integrate"] == 64
