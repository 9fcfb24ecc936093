"""A run whose weights, biases, states or currents overflow the dtype or turn NaN diverges.

Every datapath (EP, backprop, DEEP, asymmetric EP) stops with :class:`SimulationDiverged`
naming the epoch, batch, phase and array, through the common training loop; numpy's
overflow RuntimeWarnings never reach the user (this module turns them into errors).
A Hopfield or directed step clips its state to [0, 1], so an overflowing current used to
leave finite states behind: the run went on, warned and was marked complete.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurosim.config.scenario import scenario_from_dict
from neurosim.errors import SimulationDiverged
from neurosim.observe.observer import Observer
from neurosim.training.loop import TrainingRun, train
from conftest import directed_scenario, network_scenario, run_cli, with_changes, write_scenario

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

BASE = {
    "ep": network_scenario(),
    "bp": network_scenario(datapath="bp"),
    "deep": directed_scenario(**{"training.epochs": 3, "dynamics.beta": 0.3, "dynamics.epsilon": 1.0}),
    "asymmetric": directed_scenario(**{"training.epochs": 3, "dynamics.kind": "asymmetric", "dynamics.beta": 0.3,
                                       "dynamics.epsilon": 1.0}),
}
"""One small scenario per datapath (the directed ones with a large β and ε, so that a large
rate can overflow them: an asymmetric update is at most Δs/β)."""

OVERFLOWING = {
    "ep": {"training.learning_rate": 1e38},
    "bp": {"training.learning_rate": 1e38},
    "deep": {"training.learning_rate": 3e38},
    "asymmetric": {"training.learning_rate": 3e38},
}
"""Float32 learning rates that overflow each datapath within its first epochs (EP, backprop,
asymmetric: the currents after the first update; DEEP: its weights at the third update).
Before the fix EP and asymmetric EP ran to completion and every one of them warned."""


def _float32(datapath: str, changes: dict | None = None) -> dict:
    return with_changes(BASE[datapath], {"training.dtype": "float32", **(changes or {})})


def _stored(run: TrainingRun) -> list[np.ndarray]:
    """Every array the run keeps from one batch to the next: weights and biases."""
    model = run.model
    weights = model.synapses.weights
    arrays = list(weights.values()) if isinstance(weights, dict) else [weights]
    return arrays + ([model.neurons.bias] if model.neurons.bias is not None else [])


@pytest.mark.parametrize("datapath", list(BASE))
def test_an_overflowing_learning_rate_is_a_divergence(datapath):
    with pytest.raises(SimulationDiverged, match=r"phase: .* holds NaN or inf") as info:
        train(scenario_from_dict(_float32(datapath, OVERFLOWING[datapath])))
    assert info.value.epoch < 3 and info.value.what


@pytest.mark.parametrize("datapath", list(BASE))
def test_the_command_line_reports_the_divergence_without_a_warning_or_a_run_file(datapath, tmp_path, monkeypatch,
                                                                                capsys):
    path = write_scenario(tmp_path, _float32(datapath, OVERFLOWING[datapath]))
    out = tmp_path / "run.h5"
    code, stdout, err = run_cli(monkeypatch, capsys, "run", path, "--out", out, "--quiet")
    assert code == 1 and "error: simulation diverged at epoch" in err
    assert "Warning" not in err + stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name], "no run file, complete or partial"


@pytest.mark.parametrize("datapath", ["ep", "bp"])
def test_a_rate_beyond_the_dtype_diverges_at_the_first_update(datapath):
    """1e300 is inf in float32: every weight becomes inf or NaN at once."""
    with pytest.raises(SimulationDiverged) as info:
        train(scenario_from_dict(_float32(datapath, {"training.learning_rate": 1e300})))
    diverged = info.value
    assert (diverged.epoch, diverged.batch, diverged.phase, diverged.what) == (0, 0, "update", "weights of layer pair 0-1")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datapath=st.sampled_from(list(BASE)), dtype=st.sampled_from(["float32", "float64"]),
       exponent=st.floats(-2.0, 308.2), quantised=st.booleans())
def test_a_run_either_diverges_or_keeps_every_value_finite(datapath, dtype, exponent, quantised):
    """Whatever the rate (up to float64's largest), a run ends in one of two ways: it
    completes with finite weights, biases and metrics, or it raises SimulationDiverged;
    never with a RuntimeWarning. ``quantised``: an 8-bit current ADC and state (the fused
    kernel, which numpy's overflow checks do not see)."""
    changes = {"training.learning_rate": 10.0 ** exponent, "training.dtype": dtype}
    if quantised:
        changes["device_overrides"] = {"neuron.current.bits": 8, "neuron.state.bits": 8}
    try:
        run = train(scenario_from_dict(with_changes(BASE[datapath], changes)))
    except SimulationDiverged as exc:
        assert exc.phase.removeprefix("test ") in {"free", "weakly-clamped", "update", "forward", "backward"}
        return
    assert all(np.isfinite(a).all() for a in _stored(run))
    for record in run.epochs:
        assert np.isfinite([record.train_error, record.test_error, record.cost, record.test_cost]).all()


class _ErrstateProbe(Observer):
    """Records numpy's error handling as every event reaches it."""

    def __init__(self):
        self.seen: set[tuple] = set()

    def _record(self) -> None:
        self.seen.add(tuple(sorted(np.geterr().items())))

    def wants_steps(self, epoch: int, batch: int) -> bool:
        return True

    def on_step(self, phase, step, model) -> None:
        self._record()

    def on_phase_end(self, phase, steps, examples, model, stored=True) -> None:
        self._record()

    def on_update(self, corrections, examples, model) -> None:
        self._record()


@pytest.mark.parametrize("datapath", list(BASE))
def test_observers_run_under_the_callers_error_handling_not_the_phase_check(datapath):
    """A phase checks its own arithmetic (overflow raises); an observer's arithmetic is not
    the simulation's, so it sees the error handling the loop ran under."""
    probe = _ErrstateProbe()
    with np.errstate(over="warn", invalid="ignore", divide="ignore", under="ignore"):
        outer = tuple(sorted(np.geterr().items()))
        train(scenario_from_dict(with_changes(BASE[datapath], {"training.epochs": 1})), observers=[probe])
    assert probe.seen == {outer}
