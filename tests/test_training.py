"""Training on the embedded data: persistent particles, learning, divergence, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import DEFAULT, SCENARIOS, network_scenario
from neurosim.learning.ep import EquilibriumPropagation
from neurosim.learning.phases import NO_EVENTS, Events
from neurosim.data.datasets import load_embedded
from neurosim.errors import SimulationDiverged
from neurosim.config.scenario import load_scenario, scenario_from_dict
from neurosim.training.loop import train


@pytest.fixture(scope="module")
def small_data():
    return load_embedded(train_size=200, test_size=100)


def tiny_scenario(**training):
    """784-30-10, 2 epochs, per-layer rates; ``training`` changes that section. The data
    are the ``small_data`` fixture's (no data section)."""
    return scenario_from_dict(network_scenario(
        seed=4, data=DEFAULT, dynamics={"t_free": 15, "t_clamped": 4},
        training={"epochs": 2, "learning_rate": [0.1, 0.05], **training}, **{"topology.sizes": [784, 30, 10]}))


def test_second_epoch_free_phase_starts_from_first_epoch_equilibrium(small_data, monkeypatch):
    calls = []
    original = EquilibriumPropagation.free_phase

    def spy(self, x, start, steps=None, events=NO_EVENTS):
        begin = start.copy()
        u0 = original(self, x, start, steps, events)
        calls.append((begin, u0.copy()))
        return u0

    monkeypatch.setattr(EquilibriumPropagation, "free_phase", spy)
    train(tiny_scenario(), small_data, max_batches=3)
    # per epoch: 3 training batches, then 3 test batches
    first_epoch, second_epoch = calls[:6], calls[6:]
    for (_, equilibrium), (start, _) in zip(first_epoch, second_epoch):
        np.testing.assert_array_equal(start, equilibrium)
    assert not np.any(first_epoch[0][0]), "first epoch starts from zero"


def test_particles_disabled_start_from_zero(small_data, monkeypatch):
    starts = []
    original = EquilibriumPropagation.free_phase
    monkeypatch.setattr(EquilibriumPropagation, "free_phase",
                        lambda self, x, start, steps=None, events=NO_EVENTS:
                        starts.append(start.copy()) or original(self, x, start, steps, events))
    train(tiny_scenario(persistent_particles=False), small_data, max_batches=2)
    assert all(not s.any() for s in starts)


def test_same_seed_same_numbers(small_data):
    scenario = tiny_scenario(shuffle=True)
    a = train(scenario, small_data, max_batches=4)
    b = train(scenario, small_data, max_batches=4)
    np.testing.assert_array_equal(a.rms_correction, b.rms_correction)
    for pair in a.model.synapses.weights:
        np.testing.assert_array_equal(a.model.synapses.weights[pair], b.model.synapses.weights[pair])


@pytest.mark.slow
def test_quickstart_network_learns_on_embedded_data():
    """Two epochs of the quickstart scenario: measured 7.2 % test error; chance is 90 %."""
    scenario = load_scenario(SCENARIOS / "quickstart.yaml", {"training.epochs": 2})
    run = train(scenario, load_embedded())
    assert run.epochs[-1].test_error < 0.12
    assert run.epochs[1].train_error < run.epochs[0].train_error


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_diverging_simulation_names_epoch_batch_and_phase(small_data):
    """A rate beyond float32's range turns the weights into inf and NaN at the first update."""
    with pytest.raises(SimulationDiverged, match=r"epoch 1, batch 1 \(counted from 1\), update phase: weights of layer pair") as info:
        train(tiny_scenario(learning_rate=1e300), small_data, max_batches=5)
    assert info.value.epoch == 0


def test_rms_correction_is_rate_times_rms_of_delta_w(small_data):
    """The Figure 4 quantity, recomputed from the weights before and after one batch."""
    scenario = tiny_scenario(learning_rate=[0.3, 0.07])
    run = train(scenario, small_data, epochs=1, max_batches=2)
    after_one = train(scenario, small_data, epochs=1, max_batches=1).model.synapses.weights
    assert run.rms_correction.shape == (2, 2)
    # runs are deterministic: batch 2 applied the difference between the two runs' weights
    for k, pair in enumerate(run.model.topology.pairs):
        applied = run.model.synapses.weights[pair].astype(np.float64) - after_one[pair]
        assert run.rms_correction[1, k] == pytest.approx(np.sqrt(np.mean(applied ** 2)), rel=1e-3)


def test_observers_see_every_step_phase_end_and_update(small_data):
    from neurosim.observe.observer import Observer
    from neurosim.training.loop import prepare

    class Counter(Observer):
        def __init__(self):
            self.steps, self.phases, self.updates = [], [], 0

        def on_step(self, phase, step, model):
            self.steps.append((phase, step))

        def on_phase_end(self, phase, steps, examples, model, stored=True):
            self.phases.append(phase)

        def on_update(self, corrections, examples, model):
            self.updates += 1

    run = prepare(tiny_scenario(), small_data)
    probe = Counter()
    events = Events([probe], [probe])
    x, y = small_data.train_x[:4], small_data.train_y[:4]
    run.controller.free_phase(x, np.zeros((4, run.model.topology.n_state), np.float32), events=events)
    run.controller.clamped_phase(x, y, 1.0, events=events)
    run.controller.update_phase(x, 1.0, events=events)
    assert probe.steps == [("free", k) for k in range(15)] + [("weakly-clamped", k) for k in range(4)]
    assert probe.phases == ["free", "weakly-clamped"] and probe.updates == 1
