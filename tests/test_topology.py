"""Topology builders: the layered network and the paper's Algorithm 1, as properties."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.models.topology import (fraction_for, initial_weights, layer_skipping, layered,
                                      layered_with_intralayer_count, max_rewirings, possible_connections,
                                      replacements_for)

sizes_strategy = st.lists(st.integers(1, 7), min_size=3, max_size=5)


def adjacency(topology):
    """Dense symmetric boolean adjacency over all neurons, from the edge list."""
    n = topology.offsets[-1]
    adj = np.zeros((n, n), dtype=int)
    for i, j in topology.edges():
        adj[i, j] += 1
        adj[j, i] += 1
    return adj


def test_layered_connects_exactly_adjacent_layers():
    topo = layered([4, 3, 2])
    assert topo.pairs == [(0, 1), (1, 2)]
    assert topo.n_connections == 4 * 3 + 3 * 2
    adj = adjacency(topo)
    layers = topo.neuron_layers()
    connected = np.abs(layers[:, None] - layers[None, :]) == 1
    assert np.array_equal(adj == 1, connected)


def test_paper_network_connection_count_and_p():
    sizes = [784, 500, 500, 500, 10]
    assert layered_with_intralayer_count(sizes) == 1_271_250
    assert abs(fraction_for(100_000, 1_271_250) - 0.0756) < 1e-3
    assert abs(replacements_for(0.0756, 1_271_250) - 100_000) < 100


@given(p=st.floats(0.0, 0.5), n_o=st.integers(10, 10**7))
def test_p_and_n_conversions_invert_each_other(p, n_o):
    n = replacements_for(p, n_o)
    assert abs(fraction_for(n, n_o) - p) <= 1.0 / n_o + 1e-12  # rounding n moves p by at most one step
    assert fraction_for(n, n_o) == pytest.approx(1 - ((n_o - 1) / n_o) ** n, rel=1e-9, abs=1e-15)


@settings(max_examples=60, deadline=None)
@given(sizes=sizes_strategy, data=st.data(), mode=st.sampled_from(["replace", "add"]), seed=st.integers(0, 10**6))
def test_algorithm_1_invariants(sizes, data, mode, seed):
    base = layered_with_intralayer_count(sizes)
    total = sum(sizes)
    allowed = total * (total - 1) // 2 - sizes[0] * (sizes[0] - 1) // 2 - sizes[-1] * (sizes[-1] - 1) // 2
    n = data.draw(st.integers(0, allowed - base))
    topo = layer_skipping(sizes, np.random.default_rng(seed), n=n, mode=mode)
    adj = adjacency(topo)
    layers = topo.neuron_layers()
    # count kept (replace) or grown by n (add): no duplicate was created, none lost
    assert topo.n_connections == (base if mode == "replace" else base + n)
    assert adj.max(initial=0) <= 1, "at most one connection per pair"
    assert np.array_equal(adj, adj.T), "symmetric"
    assert np.all(np.diag(adj) == 0), "no self connections"
    last = len(sizes) - 1
    for end in (0, last):
        inside = np.ix_(layers == end, layers == end)
        assert adj[inside].sum() == 0, "no connection between two inputs or two outputs"
    for (a, b), mask in topo.masks.items():
        if a == b:
            assert np.array_equal(mask, mask.T) and not mask.diagonal().any()


def test_algorithm_1_without_rewiring_makes_hidden_layers_all_to_all():
    topo = layer_skipping([3, 4, 5, 2], np.random.default_rng(0), n=0)
    assert topo.connection_count((1, 1)) == 6 and topo.connection_count((2, 2)) == 10
    assert (0, 0) not in topo.masks and (3, 3) not in topo.masks


def test_algorithm_1_rewires_about_p_of_the_original_connections():
    """Each original connection is picked for removal with probability 1 − ((N_o − 1)/N_o)^n = p.

    A removed pair returns to the pool of unconnected pairs and may be drawn again as a new
    connection, so the fraction of originals missing at the end lies between p·(1 − p·N_o/F)
    (F unconnected allowed pairs at the start) and p.
    """
    sizes = [60, 20, 20, 5]
    start = layer_skipping(sizes, np.random.default_rng(1), n=0)
    n_o = start.n_connections
    total = sum(sizes)
    free = total * (total - 1) // 2 - 60 * 59 // 2 - 5 * 4 // 2 - n_o
    topo = layer_skipping(sizes, np.random.default_rng(1), p=0.3)
    original = {tuple(e) for e in start.edges()}
    removed_fraction = 1 - sum(tuple(e) in original for e in topo.edges()) / n_o
    assert 0.3 * (1 - 0.3 * n_o / free) - 0.02 <= removed_fraction <= 0.3 + 0.02
    assert layered(sizes).n_connections < n_o


def test_algorithm_1_is_reproducible_from_the_seed():
    a = layer_skipping([6, 5, 5, 3], np.random.default_rng(9), n=12)
    b = layer_skipping([6, 5, 5, 3], np.random.default_rng(9), n=12)
    assert np.array_equal(a.edges(), b.edges())


def reference_algorithm_1(sizes, rng, n, mode):
    """Algorithm 1 written out step by step, with the draws :func:`layer_skipping` documents:
    the n picks up front (replace mode), then candidate pairs 4,096 at a time. The edge list
    (i < j) it leaves."""
    offsets = np.cumsum((0, *sizes))
    total, last = int(offsets[-1]), len(sizes) - 1
    layer = np.repeat(np.arange(len(sizes)), sizes)
    connected = {(i, j) for i in range(total) for j in range(i + 1, total)
                 if layer[j] - layer[i] == 1 or (layer[i] == layer[j] and 0 < layer[i] < last)}
    slots = sorted(connected)
    picks = rng.integers(len(slots), size=n) if mode == "replace" else None
    candidates, used = np.empty((0, 2), dtype=np.int64), 0
    for step in range(n):
        while True:
            if used == len(candidates):
                candidates, used = rng.integers(total, size=(4096, 2)), 0
            i, j = sorted(int(v) for v in candidates[used])
            used += 1
            if i != j and not (layer[i] == layer[j] and layer[i] in (0, last)) and (i, j) not in connected:
                break
        connected.add((i, j))
        if picks is not None:
            connected.remove(slots[picks[step]])
            slots[picks[step]] = (i, j)
    return np.array(sorted(connected)).reshape(-1, 2)


@settings(max_examples=40, deadline=None)
@given(sizes=sizes_strategy, data=st.data(), mode=st.sampled_from(["replace", "add"]), seed=st.integers(0, 10**6))
def test_algorithm_1_draws_as_written_step_by_step(sizes, data, mode, seed):
    """The compiled steps take the same random pairs as the plain loop, and leave the
    generator where the loop leaves it (the regression fingerprints rely on it)."""
    n = data.draw(st.integers(0, max_rewirings(sizes, mode)))
    compiled_rng, reference_rng = np.random.default_rng(seed), np.random.default_rng(seed)
    topology = layer_skipping(sizes, compiled_rng, n=n, mode=mode)
    edges = topology.edges()
    np.testing.assert_array_equal(edges[np.lexsort(edges.T[::-1])], reference_algorithm_1(sizes, reference_rng, n, mode))
    assert compiled_rng.integers(2**62) == reference_rng.integers(2**62)


@pytest.mark.parametrize("sizes, mode, limit", [
    ([2, 2, 2], "add", 13 - 9),  # 15 pairs but the input pair and the output pair; 4 + 4 + 1 connected
    ([2, 2, 2], "replace", 13),
    ([784, 20, 10], "add", 7_840),  # only the 784 × 10 input-output pairs are left unconnected
    ([784, 20, 10], "replace", 23_910),
    ([784, 500, 500, 500, 10], "replace", 2_323_090),
])
def test_the_largest_n_is_built_and_one_more_refused(sizes, mode, limit):
    assert max_rewirings(sizes, mode) == limit
    topology = layer_skipping(sizes, np.random.default_rng(0), n=limit, mode=mode)
    assert topology.n_connections == layered_with_intralayer_count(sizes) + (limit if mode == "add" else 0)
    if mode == "add":
        assert topology.n_connections == possible_connections(sizes), "every allowed pair connected"
    with pytest.raises(ValueError, match=f"at most {limit} in mode '{mode}'"):
        layer_skipping(sizes, np.random.default_rng(0), n=limit + 1, mode=mode)


def test_the_largest_n_of_the_paper_network_builds_in_seconds():
    """Algorithm 1 used to loop in Python (n = 10⁶ on 784-20-10 took a minute); compiled,
    the paper network's largest n (2.3 million rewirings) takes a fraction of a second."""
    sizes = [784, 500, 500, 500, 10]
    started = time.perf_counter()
    for mode in ("replace", "add"):
        layer_skipping(sizes, np.random.default_rng(0), n=max_rewirings(sizes, mode), mode=mode)
    assert time.perf_counter() - started < 10


def test_initialisation_follows_the_paper():
    sizes = [300, 200, 200, 10]
    topo = layer_skipping(sizes, np.random.default_rng(0), n=2000)
    weights = initial_weights(topo, np.random.default_rng(1), nonadjacent_init=0.05, dtype=np.float64)
    for (a, b), w in weights.items():
        mask = topo.masks[(a, b)]
        present = w[mask] if mask is not None else w.ravel()
        limit = np.sqrt(6 / (sizes[a] + sizes[b])) if b == a + 1 else 0.05
        assert np.abs(present).max() <= limit
        if present.size > 500:  # uniform on [−limit, limit]: variance limit²/3
            assert np.var(present) == pytest.approx(limit ** 2 / 3, rel=0.15)
        if mask is not None:
            assert np.all(w[~mask] == 0)
        if a == b:
            assert np.array_equal(w, w.T)
