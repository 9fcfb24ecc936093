"""The complete directed graph of N neurons: P inputs, then hidden neurons, then outputs.

Neurons are numbered 0..N−1 (inputs first, outputs last, as in the paper's Figure 2) and
an always-on bias neuron (activity 1) is number N. ``W[i, j]`` is the weight of the
connection from i to j. A connection exists from every neuron, and from the bias neuron,
to every *non-input* neuron other than itself: inputs are clamped, so connections into
them could never change (eq. 2 multiplies by ṡ_j = 0) and are not part of the graph.
For the paper's 8-neuron graph (2 inputs, 5 hidden, 1 output) that gives
8·6 − 6 = 42 weights plus 6 biases: 48 parameters, whose multiples explain the paper's
sparsities (93.75 % = 45/48, 95.83 % = 46/48, 62.50 % = 30/48).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Kind = Literal["deep", "asymmetric"]
"""The directed dynamics: DEEP's field (eq. 1) or asymmetric vector-field EP's."""



@dataclass(frozen=True)
class DirectedGraph:
    """Neuron counts of a complete directed graph and its connectivity mask."""

    n_inputs: int
    n_hidden: int
    n_outputs: int

    @property
    def n(self) -> int:
        """N, the number of neurons (the bias neuron not counted)."""
        return self.n_inputs + self.n_hidden + self.n_outputs

    @property
    def bias_row(self) -> int:
        """Index of the always-on bias neuron: the last row of the weight matrix."""
        return self.n

    @property
    def free(self) -> slice:
        """Columns of the neurons that evolve (hidden and output)."""
        return slice(self.n_inputs, self.n)

    @property
    def outputs(self) -> slice:
        """Columns of the output neurons."""
        return slice(self.n - self.n_outputs, self.n)

    def mask(self) -> np.ndarray:
        """(N + 1) × N boolean: True where a connection (or bias, last row) exists."""
        mask = np.zeros((self.n + 1, self.n), dtype=bool)
        mask[:, self.free] = True
        np.fill_diagonal(mask[: self.n], False)
        return mask

    @property
    def n_parameters(self) -> int:
        """Connections plus biases of the complete graph: N·(N − P) − (N − P)."""
        return int(self.mask().sum())
