"""Neuron groups and symmetric connectivity, labelled by the pair of layers each connection joins.

Layers are numbered 0 (input) to L (output). A connection joins two neurons; it belongs to
the *layer pair* (a, b) with a ≤ b of the layers of its two ends: ``0-1`` joins the input
to the first hidden layer, ``1-1`` lies inside hidden layer 1, ``0-2`` skips a layer.

Connectivity is stored per layer pair as a boolean block (n_a × n_b), or ``None`` for a
complete block between two different layers, so that the simulator multiplies only the
blocks that exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np

LayerPair = tuple[int, int]


def pair_name(pair: LayerPair) -> str:
    """``(0, 2)`` → ``"0-2"``."""
    return f"{pair[0]}-{pair[1]}"


@dataclass(frozen=True)
class Topology:
    """Layer sizes plus the connectivity block of every layer pair that has connections.

    ``masks[(a, b)]`` is a boolean array (n_a × n_b), True where neuron i of layer a and
    neuron j of layer b are connected, or None when every such pair is (a < b only). For
    a == b the block is symmetric with a False diagonal (no self connections).
    """

    layer_sizes: tuple[int, ...]
    masks: dict[LayerPair, np.ndarray | None]
    kind: str = "layered"
    replacements: int = 0
    offsets: tuple[int, ...] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "offsets", tuple(int(v) for v in np.cumsum((0, *self.layer_sizes))))

    @property
    def n_layers(self) -> int:
        return len(self.layer_sizes)

    @property
    def output_layer(self) -> int:
        return self.n_layers - 1

    @property
    def pairs(self) -> list[LayerPair]:
        """Layer pairs that hold connections, sorted."""
        return sorted(self.masks)

    def connection_count(self, pair: LayerPair) -> int:
        """Number of connections (each counted once) in one layer pair."""
        a, b = pair
        mask = self.masks[pair]
        if mask is None:
            return self.layer_sizes[a] * self.layer_sizes[b]
        return int(mask.sum()) // (2 if a == b else 1)

    @property
    def n_connections(self) -> int:
        return sum(self.connection_count(p) for p in self.pairs)

    def layer_slice(self, layer: int) -> slice:
        """Indices of ``layer``'s neurons in the global numbering (input neurons first)."""
        return slice(self.offsets[layer], self.offsets[layer + 1])

    def state_slices(self) -> dict[int, slice]:
        """Indices of each non-input layer in the state vector s (hidden layers, then output)."""
        start = self.offsets[1]
        return {layer: slice(self.offsets[layer] - start, self.offsets[layer + 1] - start)
                for layer in range(1, self.n_layers)}

    @property
    def n_state(self) -> int:
        """Number of non-input neurons, the length of the state vector s."""
        return self.offsets[-1] - self.offsets[1]

    def edges(self) -> np.ndarray:
        """Every connection as a row (i, j), i < j, in the global neuron numbering."""
        rows = []
        for a, b in self.pairs:
            mask = self.masks[(a, b)]
            if mask is None:
                mask = np.ones((self.layer_sizes[a], self.layer_sizes[b]), dtype=bool)
            if a == b:
                mask = np.triu(mask, k=1)
            i, j = np.nonzero(mask)
            rows.append(np.stack([i + self.offsets[a], j + self.offsets[b]], axis=1))
        return np.concatenate(rows) if rows else np.zeros((0, 2), dtype=np.intp)

    def neuron_layers(self) -> np.ndarray:
        """Layer number of every neuron, in the global numbering."""
        return np.repeat(np.arange(self.n_layers), self.layer_sizes)


def layered(sizes) -> Topology:
    """Every neuron connected to every neuron of the adjacent layers (paper Figure 1)."""
    sizes = tuple(int(s) for s in sizes)
    return Topology(sizes, {(a, a + 1): None for a in range(len(sizes) - 1)}, kind="layered")


def replacements_for(p: float, n_connections: int) -> int:
    """Number of rewirings n giving rewiring fraction p: p = 1 − ((N_o − 1)/N_o)^n."""
    if p == 0:
        return 0
    return round(math.log1p(-p) / math.log1p(-1.0 / n_connections))


def fraction_for(n: int, n_connections: int) -> float:
    """Rewiring fraction p for n rewirings among N_o connections (inverse of :func:`replacements_for`)."""
    return -math.expm1(n * math.log1p(-1.0 / n_connections))


def layered_with_intralayer_count(sizes) -> int:
    """N_o: connections of the layered network once every hidden layer is made all-to-all."""
    adjacent = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return adjacent + sum(n * (n - 1) // 2 for n in sizes[1:-1])


def possible_connections(sizes) -> int:
    """Pairs of neurons a connection may join: every pair but two inputs or two outputs."""
    total = sum(sizes)
    return total * (total - 1) // 2 - sizes[0] * (sizes[0] - 1) // 2 - sizes[-1] * (sizes[-1] - 1) // 2


def max_rewirings(sizes, mode: str) -> int:
    """The largest n Algorithm 1 accepts on layer sizes ``sizes``.

    ``add``: every step fills one of the pairs still unconnected after the hidden layers
    are made all-to-all, so n ≤ :func:`possible_connections` − N_o. ``replace``: every step
    frees the pair it removes, so pairs never run out; n ≤ :func:`possible_connections`,
    beyond which the rewiring only reshuffles a network already random (there, p = 1 −
    e^(−possible/N_o) ≥ 63 % of the connections have been rewired), and n stays the
    size of what :func:`layer_skipping` draws up front.
    """
    possible = possible_connections(sizes)
    return possible - layered_with_intralayer_count(sizes) if mode == "add" else possible


@numba.njit(cache=True)
def _rewire(adjacency, edges, picks, n, step, candidates, layer_of, last):  # pragma: no cover - compiled
    """Algorithm 1's steps ``step``, ``step`` + 1, ... < ``n``, in order, each taking the first
    acceptable pair of ``candidates`` left; returns the next step when the candidates run out
    (the caller then draws more) or ``n``. ``picks`` is empty in ``add`` mode."""
    used = 0
    while step < n:
        i, j = candidates[used, 0], candidates[used, 1]
        used += 1
        if i > j:
            i, j = j, i
        if i != j and not (layer_of[i] == layer_of[j] and (layer_of[i] == 0 or layer_of[i] == last)) \
                and not adjacency[i, j]:
            adjacency[i, j] = True
            if len(picks):
                slot = picks[step]
                adjacency[edges[slot, 0], edges[slot, 1]] = False
                edges[slot, 0], edges[slot, 1] = i, j
            step += 1
        if used == len(candidates):
            break
    return step


def layer_skipping(sizes, rng: np.random.Generator, *, n: int | None = None, p: float | None = None,
                   mode: str = "replace") -> Topology:
    """The paper's Algorithm 1.

    Start from the layered network, connect every pair of neurons inside each hidden layer,
    then ``n`` times: pick a random existing connection, add a connection between a random
    unconnected pair of neurons (never a neuron with itself, two inputs or two outputs) and,
    in ``replace`` mode, remove the picked connection (``add`` mode keeps it). Give ``n`` or
    ``p`` (converted with :func:`replacements_for`); n is at most :func:`max_rewirings`.

    Random draws: in ``replace`` mode the n picked connections first, as indices into the
    list of connections (a removed connection's slot takes the one added in its place);
    then candidate pairs, 4,096 at a time, each step taking the first acceptable one left.
    The steps run compiled, one after the other, as each depends on the ones before.
    """
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 3:
        raise ValueError("layer-skipping needs at least one hidden layer")
    if mode not in ("replace", "add"):
        raise ValueError(f"mode must be 'replace' or 'add', not {mode!r}")
    base = layered_with_intralayer_count(sizes)
    if (n is None) == (p is None):
        raise ValueError("give exactly one of n or p")
    if n is None:
        n = replacements_for(p, base)
    if n > max_rewirings(sizes, mode):
        raise ValueError(f"cannot {'add' if mode == 'add' else 'rewire'} {n} connections: at most "
                         f"{max_rewirings(sizes, mode)} in mode {mode!r} on layer sizes {list(sizes)}")

    offsets = np.cumsum((0, *sizes))
    total, last = int(offsets[-1]), len(sizes) - 1
    layer_of = np.repeat(np.arange(len(sizes)), sizes)
    adjacency = np.zeros((total, total), dtype=bool)  # upper triangle: (i, j) with i < j
    for a in range(last):
        adjacency[offsets[a]:offsets[a + 1], offsets[a + 1]:offsets[a + 2]] = True
    for layer in range(1, last):
        block = slice(offsets[layer], offsets[layer + 1])
        adjacency[block, block] = np.triu(np.ones((sizes[layer],) * 2, dtype=bool), k=1)

    edges = np.argwhere(adjacency)
    picks = rng.integers(len(edges), size=n) if mode == "replace" else np.empty(0, dtype=np.int64)
    step = 0
    while step < n:
        step = _rewire(adjacency, edges, picks, n, step, rng.integers(total, size=(4096, 2)), layer_of, last)

    masks: dict[LayerPair, np.ndarray | None] = {}
    for a in range(len(sizes)):
        for b in range(a, len(sizes)):
            block = adjacency[offsets[a]:offsets[a + 1], offsets[b]:offsets[b + 1]]
            if not block.any():
                continue
            if a == b:
                masks[(a, b)] = block | block.T
            else:
                masks[(a, b)] = None if block.all() else block.copy()
    return Topology(sizes, masks, kind=f"layer_skipping/{mode}", replacements=n)


def initial_weights(topology: Topology, rng: np.random.Generator, nonadjacent_init: float = 0.05,
                    dtype=np.float32) -> dict[LayerPair, np.ndarray]:
    """Initial weights per layer pair (paper §3.3).

    Adjacent layers (b = a + 1): Glorot-uniform U[−√(6/(n_a + n_b)), +√(6/(n_a + n_b))].
    Every other pair (intralayer, skip): U[−a, a] with a = ``nonadjacent_init``.
    Missing connections hold 0; intralayer blocks are symmetric with a zero diagonal.
    """
    weights = {}
    for a, b in topology.pairs:
        n_a, n_b = topology.layer_sizes[a], topology.layer_sizes[b]
        limit = math.sqrt(6.0 / (n_a + n_b)) if b == a + 1 else nonadjacent_init
        w = rng.uniform(-limit, limit, size=(n_a, n_b))
        if a == b:
            w = np.triu(w, k=1)
            w = w + w.T
        mask = topology.masks[(a, b)]
        if mask is not None:
            w = w * mask
        weights[(a, b)] = w.astype(dtype)
    return weights
