"""Neuron dynamics on a directed graph, integrated with Euler steps and the hard sigmoid.

The state ``u`` holds every neuron (batch × N, inputs in the first P columns, clamped).
Two vector fields, for the non-input neurons j:

- ``deep`` (paper eq. 1):       V_j = Σ_i W_ij s_i + b_j − s_j Σ_i W_ji
- ``asymmetric`` (vector-field EP, the paper's ref. [6], ρ' = 1 inside [0, 1]):
                                V_j = Σ_i W_ij s_i + b_j − s_j

plus, on the outputs in the weakly-clamped phase, −β ∂C/∂s_j = 2β(y_j − s_j) with the
cost C = ‖ŷ − y‖² (no ½, as in the Hopfield controller). One step, step size ε (units of
the neuron time constant): s ← clip(s + ε·V(s), 0, 1) (the paper's eq. 1 with footnote 2;
``dynamics.nudge: euler``, the default here). With ``nudge: split`` the nudge acts after
the step of the field without it, as the layer-skipping paper's code does:
v = s + ε·V⁰(s); v_out ← v_out + 2εβ(y − v_out); s ← clip(v, 0, 1).

Quantisation points (of the model's neuron bank, :class:`~neurosim.devices.spec.Quantisers`;
each is the identity when ideal, so the ideal chip computes exactly the float field above):

- the activation DAC sends r = q_ρ(s) (and the clamped inputs) over the synapses; every
  synaptic current is driven by r, the outgoing one of DEEP too: −r_j Σ_i W_ji is the
  current j sends away over its own synapses (so Proposition 1 holds for r as well);
- the current ADC reads the summed synaptic current I_j = Σ_i W_ij r_i + b_j (− r_j Σ_i W_ji
  for DEEP); the asymmetric field's leak −s_j and the output nudge are added after it,
  inside the neuron, as in the Hopfield neuron;
- the state after every step is written through q_s;
- :func:`remember` writes a phase-end state into a memory cell through q_U.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from neurosim.models.directed import DirectedNetwork
from neurosim.models.graph import Kind


def vector_field(kind: Kind, model: DirectedNetwork, u: np.ndarray, beta: float = 0.0,
                 target: np.ndarray | None = None) -> np.ndarray:
    """V(u) for every neuron (batch × N) through the DAC, the synapses' read noise and the ADC; 0
    on the clamped inputs. No clipping."""
    graph, q, bank = model.graph, model.neurons.q, model.synapses
    r = q.activation(u)
    v = bank.chip.noise.inputs(r) @ bank.connections + bank.bias
    bank.chip.noise.outputs(v)
    if kind == "deep":
        v -= r * bank.outflow()
    q.current.inplace(v)
    if kind == "asymmetric":
        v -= u
    v[:, : graph.n_inputs] = 0.0
    if beta != 0.0:
        v[:, graph.outputs] += 2.0 * beta * (target - u[:, graph.outputs])
    return v


def relax(kind: Kind, model: DirectedNetwork, u: np.ndarray, steps: int, epsilon: float,
          beta: float = 0.0, target: np.ndarray | None = None,
          on_step: Callable[[np.ndarray, np.ndarray], None] | None = None, split: bool = False) -> np.ndarray:
    """Integrate ``steps`` Euler steps from ``u`` (not modified); returns the final state.
    The state of every non-input neuron is written through q_s after each step. ``split``
    applies the output nudge after the field's step instead of inside it (module docstring).

    ``on_step(previous, current)`` sees the state before and after every step (used by
    the DEEP rule to integrate along the path).
    """
    graph, state_point = model.graph, model.neurons.q.state
    free, outputs = graph.free, slice(graph.n_hidden, graph.n_hidden + graph.n_outputs)
    nudge_after = split and beta != 0.0
    u = u.copy()
    for step in range(steps):
        model.synapses.chip.noise.at_step(step)
        previous = u.copy() if on_step is not None else None
        v = vector_field(kind, model, u, 0.0 if nudge_after else beta, target)
        state = u[:, free] + epsilon * v[:, free]
        if nudge_after:
            state[:, outputs] += epsilon * 2.0 * beta * (target - state[:, outputs])
        state = np.clip(state, 0.0, 1.0)
        state_point.inplace(state)
        u[:, free] = state
        if on_step is not None:
            on_step(previous, u)
    return u


def initial_state(x: np.ndarray, n: int, dtype) -> np.ndarray:
    """Inputs clamped to x, every other neuron at rest (0)."""
    u = np.zeros((x.shape[0], n), dtype=dtype)
    u[:, : x.shape[1]] = x
    return u


def remember(model: DirectedNetwork, cell: str, u: np.ndarray) -> np.ndarray:
    """Write ``u`` into the memory cell ``cell`` (U0 or Uβ) of the model's neurons: q_U on
    the non-input neurons, the clamped inputs as they are (``u`` itself when the memory is
    ideal); returns the stored states."""
    memory, free = model.neurons.q.memory, model.graph.free
    if memory.ideal:
        stored = u
    else:
        stored = u.copy()
        stored[:, free] = memory(np.ascontiguousarray(u[:, free]))
    model.neurons.cells[cell] = stored
    return stored
