"""Phases that end when the circuit has settled (issue 15, part 1): never before the criterion
holds, the same learning as fixed phases when tight, steps counted where they ran, and a
latency per phase from the device file's timing."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import network_scenario
from neurosim.config.scenario import scenario_from_dict
from neurosim.learning.phases import Events
from neurosim.observe.ledger import Ledger
from neurosim.observe.observer import Observer
from neurosim.observe.recorder import recording
from neurosim.training.loop import prepare, train, train_run

SMALL = {"data.train_size": 60, "data.test_size": 40, "topology.sizes": [784, 16, 10], "dynamics.t_free": 120,
         "dynamics.t_clamped": 20, "training.epochs": 2}


class Steps(Observer):
    """Every integration step's states, per phase."""

    def __init__(self):
        self.states: dict[str, list[np.ndarray]] = {}

    def wants_steps(self, epoch, batch):
        return True

    def on_step(self, phase, step, model):
        self.states.setdefault(phase, []).append(model.neurons.s.copy())


@settings(max_examples=15, deadline=None)
@given(st.floats(1e-6, 1e-2), st.integers(0, 50))
def test_a_settling_phase_ends_at_the_first_step_below_the_tolerance(tolerance, seed):
    scenario = scenario_from_dict(network_scenario(SMALL, seed=seed, **{
        "dynamics.settle": {"free": {"tolerance": tolerance, "max_steps": 120}}}))
    run = prepare(scenario)
    x, y = run.dataset.train_x[:20], run.dataset.train_y[:20]
    seen = Steps()
    start = np.zeros((20, run.model.neurons.size), dtype=run.model.neurons.dtype)
    run.controller.free_phase(x, start, events=Events([seen], [seen]))
    states = [start, *seen.states["free"]]
    moves = [np.max(np.abs(b - a)) for a, b in zip(states, states[1:])]
    taken = len(moves)
    assert all(m >= tolerance for m in moves[:-1])  # not settled before the end
    assert moves[-1] < tolerance or taken == 120      # settled at the end, or out of steps
    clamped = Steps()
    run.controller.clamped_phase(x, y, 1.0, events=Events([clamped], [clamped]))
    assert len(clamped.states["weakly-clamped"]) == 20  # a phase not named in settle keeps its fixed length


def test_a_tight_tolerance_learns_what_the_fixed_phases_learn():
    fixed = train(scenario_from_dict(network_scenario(SMALL)))
    tight = train(scenario_from_dict(network_scenario(SMALL, **{"dynamics.settle": {
        "free": {"tolerance": 1e-7, "max_steps": 120}, "weakly-clamped": {"tolerance": 1e-7, "max_steps": 20}}})))
    for a, b in zip(fixed.epochs, tight.epochs):
        assert a.train_error == b.train_error and a.test_error == b.test_error
        assert a.cost == pytest.approx(b.cost, abs=1e-5)
    for pair, w in fixed.model.synapses.weights.items():
        np.testing.assert_allclose(tight.model.synapses.weights[pair], w, atol=1e-5)


def test_the_ledger_counts_the_steps_the_run_file_records_and_times_them(tmp_path):
    scenario = scenario_from_dict(network_scenario(SMALL, **{
        "dynamics.settle": {"free": {"tolerance": 1e-3, "max_steps": 120}},
        "devices": {"timing": {"step_seconds": 2e-7, "pulse_seconds": 1e-6}}}))
    path = tmp_path / "r.h5"
    run = prepare(scenario)
    with recording(path, scenario) as observers:
        train_run(run, observers=observers)
    ledger: Ledger = observers[0]
    with h5py.File(path, "r") as f:
        steps = f["metrics/batch/steps"][()]
        phases = list(f["metrics/batch/steps"].attrs["phases"])
    free = steps[:, phases.index("free")]
    assert free.min() < 120 and np.all(steps[:, phases.index("weakly-clamped")] == 20)
    neurons = sum(scenario.topology.sizes[1:])
    integrate = {r.phase: r.count for r in ledger.rows() if r.action == "integrate"}
    assert integrate["free"] == int(free.sum()) * 20 * neurons  # every batch holds 20 examples
    assert ledger.seconds["free"] == pytest.approx(free.sum() * 20 * 2e-7)
    assert ledger.seconds["weakly-clamped"] == pytest.approx(steps[:, 1].sum() * 20 * 2e-7)
    assert ledger.seconds["update"] == pytest.approx(len(steps) * 1e-6)
