"""Directed EP (DEEP): dynamics, learning rules, sparsity and stability against the paper's mathematics."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from conftest import SCENARIOS, directed_scenario, run_cli
from neurosim.config.scenario import scenario_from_dict
from neurosim.devices.directed_synapses import DirectedSynapseBank
from neurosim.learning.directed_dynamics import relax, vector_field
from neurosim.learning.rules import AsymmetricRule, DeepRule, PathIntegral
from neurosim.learning.sparsity import prune, removal_probabilities
from neurosim.models.directed import DirectedNetwork
from neurosim.models.graph import DirectedGraph
from neurosim.models.stability import rate_sum_drift, stable_neurons
from neurosim.training.loop import train


def random_model(graph: DirectedGraph, seed: int, scale: float = 1.0) -> DirectedNetwork:
    """Weights U[−scale, scale] (the old ``DirectedSynapseBank.uniform``)."""
    rng = np.random.default_rng(seed)
    return DirectedNetwork.create(graph, rng.uniform(-scale, scale, (graph.n + 1, graph.n)))


def test_paper_graph_has_48_parameters():
    # 8 neurons, 6 of them non-input: 8·6 − 6 = 42 connections + 6 biases; the paper's
    # sparsities are multiples of 1/48.
    graph = DirectedGraph(2, 5, 1)
    assert graph.n_parameters == 48
    for sparsity in (0.9375, 0.9583, 0.625):
        assert abs(sparsity * 48 - round(sparsity * 48)) < 0.02


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 9), seed=st.integers(0, 2**32 - 1), scale=st.floats(0.01, 10.0))
def test_proposition_1_sum_of_rates_is_preserved(n, seed, scale):
    # All neurons free (P = 0), no biases, β = 0: Σ_j V_j = 0 for any weights and state,
    # evaluated on the field itself (before any clipping).
    graph = DirectedGraph(0, n - 1, 1)
    model = random_model(graph, seed, scale)
    bank = model.synapses
    bank.weights[graph.bias_row] = 0.0
    s = np.random.default_rng(seed + 1).uniform(-1, 2, (5, n))  # outside [0, 1] too: no clipping involved
    v = vector_field("deep", model, s)
    assert np.allclose(v.sum(axis=1), 0.0, atol=1e-9 * scale * n * n)
    assert np.allclose(rate_sum_drift(bank, s), v.sum(axis=1), atol=1e-9 * scale * n * n)
    # and the biases break it: Σ_j V_j = Σ_j b_j
    bank.weights[graph.bias_row, graph.free] = 0.3
    assert np.allclose(vector_field("deep", model, s).sum(axis=1), 0.3 * n)


def finite_difference_jacobian(kind, model, u, h=1e-6):
    """∂V_j/∂s_k over the non-input neurons, by central differences of the field."""
    free = range(model.graph.n_inputs, model.graph.n)
    jac = np.zeros((len(free), len(free)))
    for col, k in enumerate(free):
        up, down = u.copy(), u.copy()
        up[0, k] += h
        down[0, k] -= h
        jac[:, col] = (vector_field(kind, model, up) - vector_field(kind, model, down))[0, model.graph.free] / (2 * h)
    return jac


@settings(max_examples=40, deadline=None)
@given(p=st.integers(0, 3), hidden=st.integers(0, 4), seed=st.integers(0, 2**32 - 1),
       kind=st.sampled_from(["deep", "asymmetric"]))
def test_proposition_2_agrees_with_gershgorin_discs_of_the_jacobian(p, hidden, seed, kind):
    graph = DirectedGraph(p, hidden, 1)
    rng = np.random.default_rng(seed)
    weights = random_model(graph, seed, scale=rng.uniform(0.05, 1.0)).synapses.weights
    weights[: graph.n, graph.free] += np.where(rng.random((graph.n, graph.n - p)) < 0.5, 0.6, 0.0)
    model = DirectedNetwork.create(graph, weights)  # re-apply the mask
    bank = model.synapses
    jac = finite_difference_jacobian(kind, model, rng.uniform(0, 1, (1, graph.n)))
    diagonal = np.diag(jac)
    radius = np.abs(jac).sum(axis=1) - np.abs(diagonal)
    # A row's disc lies in the open left half-plane. Only decide cases away from the boundary.
    margin = np.minimum(np.abs(diagonal), np.abs(np.abs(diagonal) - radius))
    decided = margin > 1e-5
    gershgorin = (diagonal < 0) & (radius < np.abs(diagonal))
    assert np.array_equal(stable_neurons(bank, kind)[decided], gershgorin[decided])


@pytest.mark.parametrize("seed", range(5))
def test_network_marked_stable_converges(seed):
    # On this graph only the asymmetric field can meet the disc condition at every neuron
    # (see the next test); weights with Σ_i |W_ij| < 1 do.
    graph = DirectedGraph(2, 4, 1)
    rng = np.random.default_rng(seed)
    model = DirectedNetwork.create(graph, rng.uniform(-0.4, 0.4, (graph.n + 1, graph.n)))
    bank = model.synapses
    bank.weights[graph.bias_row] += 0.5
    assert stable_neurons(bank, "asymmetric").all()
    u = np.zeros((4, graph.n))
    u[:, :2] = [[0, 0], [0, 1], [1, 0], [1, 1]]
    u = relax("asymmetric", model, u, 300, 0.2)
    assert np.abs(relax("asymmetric", model, u, 1, 0.2) - u).max() < 1e-10
    interior = (u[:, graph.free] > 0) & (u[:, graph.free] < 1)
    assert np.abs(vector_field("asymmetric", model, u)[:, graph.free][interior]).max() < 1e-9


@settings(max_examples=60, deadline=None)
@given(p=st.integers(0, 3), hidden=st.integers(0, 5), seed=st.integers(0, 2**32 - 1), scale=st.floats(0.01, 5.0))
def test_proposition_2_never_holds_at_every_deep_neuron(p, hidden, seed, scale):
    # With no connections into the clamped inputs, Σ_j (outflow of j) = Σ_{i,j>P} W_ij
    # ≤ Σ_j Σ_{i>P} |W_ij| (the incoming sums): the strict inequality cannot hold for all j.
    graph = DirectedGraph(p, hidden, 1)
    assert not stable_neurons(random_model(graph, seed, scale).synapses, "deep").all()


def test_deep_rule_equals_its_definition_on_three_neurons():
    # 1 input, 1 hidden, 1 output; weights chosen by hand, one example, β = 0.5, ε = 0.5.
    graph = DirectedGraph(1, 1, 1)
    w = np.zeros((4, 3))
    w[0, 1], w[0, 2] = 0.4, 0.2         # input → hidden, input → output
    w[1, 2], w[2, 1] = 0.6, 0.3         # hidden → output, output → hidden
    w[3, 1], w[3, 2] = 0.1, -0.05       # biases
    model = DirectedNetwork.create(graph, w)
    beta, eps, target = 0.5, 0.5, np.array([[1.0]])
    s = [np.array([1.0, 0.2, 0.3])]     # s(M0): free equilibrium (any state works for the identity)
    # Hand-written eq. 1 + nudge, two Euler steps, clipped to [0, 1]:
    for _ in range(2):
        x, h, o = s[-1]
        dh = 0.4 * x + 0.3 * o + 0.1 - h * 0.6
        do = 0.2 * x + 0.6 * h - 0.05 - o * 0.3 + 2 * beta * (1.0 - o)
        s.append(np.array([x, np.clip(h + eps * dh, 0, 1), np.clip(o + eps * do, 0, 1)]))
    expected = np.zeros((4, 3))
    for m in (1, 2):
        prev, cur = np.append(s[m - 1], 1.0), np.append(s[m], 1.0)
        expected += np.outer(cur, cur - prev)[:, :3]
    expected /= beta * 2
    path = PathIntegral(3)
    end = relax("deep", model, s[0][None], 2, eps, beta, target, on_step=path)
    assert np.allclose(end[0], s[2])
    assert np.allclose(DeepRule.correction(path, beta, 1), expected)
    assert np.allclose(expected[:, 0], 0.0)  # nothing flows into the clamped input
    # the asymmetric rule: s_i⁰ (s_j^β − s_j⁰)/β
    asym = AsymmetricRule.correction_from_cells(s[0][None], s[2][None], beta)
    assert np.allclose(asym, np.outer(np.append(s[0], 1.0), s[2] - s[0]) / beta)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), threshold=st.floats(0.01, 1.0), temperature=st.floats(0.001, 1.0))
def test_pruning_never_removes_strong_connections(seed, threshold, temperature):
    graph = DirectedGraph(2, 5, 1)
    bank = random_model(graph, seed).synapses
    before = bank.weights.copy()
    alive = bank.alive.copy()
    rng = np.random.default_rng(seed)
    for _ in range(20):
        prune(bank, rng, threshold, temperature)
    removed = alive & ~bank.alive
    assert (np.abs(before[removed]) < threshold).all()
    assert (bank.weights[removed] == 0).all()
    assert np.array_equal(bank.weights[bank.alive], before[bank.alive])


def test_pruning_frequencies_follow_eq_3():
    graph = DirectedGraph(2, 5, 1)
    rng = np.random.default_rng(3)
    weights = rng.uniform(-0.08, 0.08, (graph.n + 1, graph.n))
    bank = DirectedSynapseBank(graph, weights)
    threshold, temperature = 0.05, 0.02
    p = removal_probabilities(bank.weights, bank.alive, threshold, temperature)
    # Eq. 3 by hand for one neuron j:
    j = 4
    live = bank.alive[:, j]
    boltzmann = np.exp(-np.abs(bank.weights[live, j]) / temperature)
    hand = np.where(np.abs(bank.weights[live, j]) < threshold, boltzmann / boltzmann.sum(), 0.0)
    assert np.allclose(p[live, j], hand)
    trials = 4000
    draw = np.random.default_rng(11)
    counts = np.zeros_like(p)
    for _ in range(trials):
        trial = DirectedSynapseBank(graph, weights)
        prune(trial, draw, threshold, temperature)
        counts += ~trial.alive & bank.alive
    candidates = p > 0
    assert (counts[~candidates] == 0).all()
    # every candidate is an independent Bernoulli(p_ij): a two-sided binomial test each,
    # Bonferroni over the candidates
    p_values = [stats.binomtest(int(c), trials, q).pvalue for c, q in zip(counts[candidates], p[candidates])]
    assert min(p_values) > 0.001 / candidates.sum()


def logic_scenario(task, seed, kind="deep"):
    """150 epochs of ``task``, always +β."""
    return scenario_from_dict(directed_scenario(
        name=task, seed=seed, dynamics={"kind": kind, "estimator": "one_sided"},
        **{"training.epochs": 150, "directed.task": task}))


@pytest.mark.parametrize("task", ["and", "or"])
def test_deep_learns_and_and_or_on_most_seeds(task):
    runs = [train(logic_scenario(task, seed)) for seed in range(6)]
    converged = sum(r.epochs[-1].mse < 0.01 for r in runs)
    assert converged >= 4, [r.epochs[-1].mse for r in runs]  # observed: AND 4/6, OR 6/6
    assert all(abs(r.epochs[-1].rate_sum_drift) < 1e-9 for r in runs)


def test_training_is_reproducible_from_the_seed():
    a, b = (train(logic_scenario("xor", 4).model_copy(update={"directed": logic_scenario("xor", 4)
            .directed.model_copy(update={"sparsity": True, "threshold": 0.1, "temperature": 0.05})})) for _ in range(2))
    a_bank, b_bank = a.model.synapses, b.model.synapses
    assert np.array_equal(a_bank.weights, b_bank.weights) and np.array_equal(a_bank.alive, b_bank.alive)


def test_cli_runs_a_directed_scenario_and_a_study(tmp_path, monkeypatch, capsys):
    import h5py

    scenario = SCENARIOS / "deep-or.yaml"
    out = tmp_path / "run.h5"
    # tracing is irrelevant here
    code, _, err = run_cli(monkeypatch, capsys, "run", scenario, "--epochs", 20, "--out", out, "--quiet",
                           "--set", "trace.enabled=false")
    assert code == 0, err
    with h5py.File(out) as f:
        assert f.attrs["status"] == "complete"
        assert f["metrics/epoch/mse"].shape == (20,)
        assert f["final/weights"].shape == (9, 8)
        assert np.isnan(f["metrics/epoch/lost_fraction"][()]).all()  # ideal devices
        assert f["ledger"].attrs["epochs"] == 20
    from neurosim.analysis.report import report
    assert "complete_directed [2, 5, 1], 42 connections" in report([str(out)], "md")
    code, _, err = run_cli(monkeypatch, capsys, "directed-study", scenario, "--seeds", 2, "--epochs", 20,
                           "--out", tmp_path / "study", "--quiet")
    assert code == 0, err
    assert (tmp_path / "study" / "table.md").read_text().count("\n") == 3
    assert (tmp_path / "study" / "mse.png").stat().st_size > 0


def test_directed_dynamics_need_the_directed_topology():
    from neurosim.errors import ConfigError

    content = logic_scenario("and", 0).model_dump(mode="json")
    content["topology"]["kind"] = "layered"
    with pytest.raises(ConfigError, match="dynamics.kind: Input should be 'hopfield'"):
        scenario_from_dict(content, "x.yaml")
    content = logic_scenario("and", 0).model_dump(mode="json")
    del content["directed"]
    with pytest.raises(ConfigError, match="directed: required key is missing"):
        scenario_from_dict(content, "x.yaml")


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("kind", ["deep", "asymmetric"])
def test_an_overflowing_current_stops_the_free_phase_although_the_state_is_clipped(kind):
    """Weights of 1e308 into the output: its current overflows float64 while the clipped
    state stays in [0, 1]; the phase raises NonFinite naming the current, without a warning."""
    from neurosim.learning.phases import NonFinite
    from neurosim.training.loop import prepare

    run = prepare(scenario_from_dict(directed_scenario(**{"dynamics.kind": kind})))
    bank, graph = run.model.synapses, run.model.graph
    bank.weights[:, graph.outputs] = np.where(bank.alive[:, graph.outputs], 1e308, 0.0)
    with pytest.raises(NonFinite) as info:
        run.controller.free_phase(np.ones((1, graph.n_inputs)))
    assert info.value.phase == "free" and "current" in info.value.what
