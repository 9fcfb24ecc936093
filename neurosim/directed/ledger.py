"""The action ledger of a directed run: :class:`neurosim.observe.ledger.Ledger`'s counts and run-file
layout, with the directed datapath's rates.

Conventions (those of :mod:`neurosim.observe.ledger`, with directed synapses). For one example, with
P inputs, F = N − P non-input neurons, O outputs, and — counted at every update, so that
removed connections cost nothing from then on — C live connections (C→ of them from a
lower- to a higher-numbered neuron, ``mac_forward``; C← the others, ``mac_backward``) and
B live biases:

* **every integration step** (free and weakly-clamped): ``input.dac`` P; per non-input
  neuron ``dac``, ``integrate``, ``adc``, ``rho``; ``bias_read`` B; **one** multiply-accumulate
  per live connection (C→ + C← = C, each directed synapse carries current one way) and one
  ``weight_read`` each. DEEP's outgoing term −s_j Σ_i W_ji is the current the synapse j → i
  draws from j while delivering W_ji s_j to i (Proposition 1: rates are conserved), not a
  second action. Weakly-clamped steps add ``nudge`` per output.
* **memory cells**: U0 written at the end of the free phase (F) and read to start the
  weakly-clamped phase (F). Asymmetric EP writes Uβ at its end (F); its update reads U0
  and Uβ (F each), drives both (2F DACs) and the inputs (P), and accumulates one product
  s_i⁰(s_j^β − s_j⁰) per live connection and Δb per live bias.
* **DEEP's update** integrates along the weakly-clamped path: at every weakly-clamped step
  each non-input neuron drives its change s_j(m) − s_j(m−1) onto its incoming synapses
  (F DACs; s_i(m) is already there), and every live connection accumulates
  s_i(m)(s_j(m) − s_j(m−1)) (C ``update_mac``), every live bias the change (B). These are
  counted in the ``update`` phase, where they belong by purpose. No Uβ is written.
* **per update** (batch): ``weight_read`` + ``weight_write`` per live connection,
  ``bias_read`` + ``bias_write`` per live bias.
* **inference**: the free relaxation of the task's examples after every epoch (the MSE and
  diagnostics), step actions only.
* **Not counted**: the sparsity mechanism's comparisons and random draws, the ℓ1 sign (it
  uses the weight read of the update), presenting the target.
"""

from __future__ import annotations

import numpy as np

from neurosim.devices.spec import DeviceSpec
from neurosim.directed.graph import DirectedGraph
from neurosim.directed.synapses import DirectedSynapseBank
from neurosim.directed.train import DirectedObserver, DirectedRun
from neurosim.observe.ledger import INFERENCE, ActionCounts, action_vector


class DirectedLedger(ActionCounts, DirectedObserver):
    """Counts a directed run's hardware actions from the updates and evaluations that ran.

    A :class:`DirectedObserver` of :func:`~neurosim.directed.train.train_directed`; the
    rates follow the live connections, so they are computed at every update. Rows,
    bits, energies and the ``/ledger`` layout are :class:`ActionCounts`'.
    """

    def __init__(self, graph: DirectedGraph, kind: str, steps: tuple[int, int], spec: DeviceSpec, float_bits: int):
        super().__init__("ep", ["free", "weakly-clamped", "update"], spec, float_bits)
        self.graph, self.kind, (self.t_free, self.t_clamped) = graph, kind, steps

    def step_actions(self, bank: DirectedSynapseBank) -> np.ndarray:
        """Actions of one integration step of one example (free phase)."""
        p, f = self.graph.n_inputs, self.graph.n - self.graph.n_inputs
        live = bank.alive[: self.graph.n]
        forward = int(np.triu(live, 1).sum())
        backward = int(live.sum()) - forward
        return action_vector(input__dac=p, neuron__dac=f, neuron__integrate=f, neuron__adc=f, neuron__rho=f,
                       neuron__bias_read=int(bank.alive[self.graph.n].sum()), synapse__mac_forward=forward,
                       synapse__mac_backward=backward, synapse__weight_read=forward + backward)

    def on_batch(self, run: DirectedRun, examples: int) -> None:
        """Count one update of ``examples`` examples on the bank as it is before the update."""
        p, f, o = self.graph.n_inputs, self.graph.n - self.graph.n_inputs, self.graph.n_outputs
        c, b = int(run.bank.alive[: self.graph.n].sum()), int(run.bank.alive[self.graph.n].sum())
        step = self.step_actions(run.bank)
        self.counts["free"] += (step * self.t_free + action_vector(neuron__write_u0=f)) * examples
        clamped = step * self.t_clamped + action_vector(neuron__nudge=o * self.t_clamped, neuron__read_u0=f)
        if self.kind == "deep":
            learn = action_vector(neuron__dac=f, synapse__update_mac=c, neuron__bias_accumulate=b) * self.t_clamped
        else:
            clamped += action_vector(neuron__write_ubeta=f)
            learn = action_vector(input__dac=p, neuron__read_u0=f, neuron__read_ubeta=f, neuron__dac=2 * f,
                            synapse__update_mac=c, neuron__bias_accumulate=b)
        self.counts["weakly-clamped"] += clamped * examples
        self.counts["update"] += learn * examples + action_vector(synapse__weight_read=c, synapse__weight_write=c,
                                                            neuron__bias_read=b, neuron__bias_write=b)
        self.examples += examples

    def on_evaluate(self, run: DirectedRun, examples: int) -> None:
        """Count the free relaxation of ``examples`` examples after an epoch."""
        self.counts[INFERENCE] += self.step_actions(run.bank) * self.t_free * examples
        self.test_examples += examples
