"""The neuron device bank: every leaky-integrator neuron of a network, as arrays.

A bank holds the state of all devices of one kind (struct of arrays) and offers the
operations the hardware has. There is no Python object per neuron.
"""

from __future__ import annotations

import numpy as np

from neurosim.devices.kernels import leaky_integrate, leaky_integrate_quantised
from neurosim.devices.spec import Quantisers


class NeuronBank:
    """The leaky-integrator neuron devices of a model, one row of states per example.

    Holds per neuron the state s ∈ [0, 1], the bias b and named memory cells: the cells a
    controller declares for its phases (EP's U0 and Uβ, backprop's activation and error;
    :attr:`cells`). ``slices`` gives the columns of each neuron group (layer), the output
    group last: a Hopfield network's non-input layers (hidden first), or a directed
    graph's inputs, hidden and output neurons (its state includes the clamped inputs).

    ``quantisers`` (default all ideal) set the precision of the current ADC, the state, the
    activation DAC, the memory cells and the bias; with the first three ideal a step runs
    the float kernel, otherwise the fused quantised one, which also keeps the DAC output
    r = q_ρ(s) in its own array. ``bias`` False: the model keeps its biases elsewhere (a
    directed graph's always-on neuron) and :attr:`bias` is None.
    """

    def __init__(self, slices: dict[int, slice], dtype=np.float32, quantisers: Quantisers | None = None,
                 bias: bool = True):
        self.dtype = np.dtype(dtype)
        self.q = quantisers or Quantisers.ideal()
        self.fused = not (self.q.current.ideal and self.q.state.ideal and self.q.activation.ideal)
        self.step_params = np.stack([self.q.current.params, self.q.state.params, self.q.activation.params])
        self.step_states = np.stack([self.q.current.state, self.q.state.state, self.q.activation.state])
        for row, point in zip(self.step_states, (self.q.current, self.q.state, self.q.activation)):
            point.state = row  # one generator per point: the fused step and load()/send() draw from the same stream
        self.slices = slices
        self.size = max(s.stop for s in slices.values())
        self.out_start = slices[max(slices)].start
        self.bias = np.zeros(self.size, dtype=self.dtype) if bias else None
        self.s = np.zeros((0, self.size), dtype=self.dtype)
        self.cells: dict[str, np.ndarray] = {}
        """Memory cells by name, each batch × neurons, as last written."""
        self.r = self.s

    def load(self, state: np.ndarray) -> None:
        """Set the state of every neuron (one row per example of the batch), through q_s."""
        if self.s.shape != state.shape:
            self.s = np.empty(state.shape, dtype=self.dtype)
        self.s[...] = state
        if self.fused:
            self.q.state.inplace(self.s)
            if self.r is self.s or self.r.shape != self.s.shape:
                self.r = np.empty_like(self.s)
            self.r[...] = self.send(self.s)

    def send(self, values: np.ndarray) -> np.ndarray:
        """What the activation DAC drives onto the synapses for ``values`` in [0, 1]: q_ρ(values)
        (the array itself when the DAC is ideal). Used for the clamped inputs."""
        return self.q.activation(values)

    def activation(self) -> np.ndarray:
        """ρ(s) as driven onto the synapses.

        The state never leaves [0, 1] (every step clips it), where ρ is the identity, so
        with an ideal DAC this is the state array itself: no copy, no extra pass. With a
        quantised step it is the DAC output the fused kernel wrote.
        """
        return self.r if self.fused else self.s

    def integrate(self, current: np.ndarray, epsilon: float, nudge: float = 0.0,
                  target: np.ndarray | None = None, split: bool = True) -> None:
        """One integration step, s ← clip((1 − ε)s + ε·I, 0, 1), with on the output neurons
        the cost's nudge ``nudge`` = 2β (0 in the free phase) towards ``target``:

        - ``split`` (the paper's code): v = (1 − ε)s + ε·I; v ← v + 2εβ(y − v); s ← clip(v, 0, 1);
        - otherwise one Euler step: s ← clip((1 − ε)s + ε(I + 2β(y − s)), 0, 1).

        ``current`` must already include the bias.
        """
        if target is None:
            target = np.zeros((self.s.shape[0], self.size - self.out_start), dtype=self.dtype)
        if self.fused:
            leaky_integrate_quantised(self.s, self.r, current, epsilon, self.out_start, nudge, target, split,
                                      self.step_params, self.step_states)
        else:
            leaky_integrate(self.s, current, epsilon, self.out_start, nudge, target, split)

    def store(self, cell: str) -> np.ndarray:
        """Write every neuron's state into its memory cell ``cell`` through q_U; returns the cell."""
        self.cells[cell] = self.s.copy() if self.q.memory.ideal else self.q.memory(self.s)
        return self.cells[cell]

    def update_bias(self, change: np.ndarray) -> None:
        """Write the bias update α·Δb: b ← q_b(b + q_Δb(α·Δb)) (b ← b + α·Δb when ideal)."""
        if self.q.bias.ideal and self.q.bias_update.ideal:
            self.bias += change
        else:
            self.bias[...] = self.q.bias(self.bias + self.q.bias_update(change))

    def output(self) -> np.ndarray:
        """States of the output neurons."""
        return self.s[:, self.out_start:]

    def state_arrays(self) -> dict[str, np.ndarray]:
        """What the bank keeps from one batch to the next (the bias), by name: the arrays
        themselves, for a checkpoint to save and restore in place. States and memory cells
        are rewritten by every phase and are not part of it."""
        return {} if self.bias is None else {"bias": self.bias}
