"""Pulsed analog synapses against their equations (issue 14): pulse counts, step models,
variability, stuck devices, write noise, drift and read noise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurosim.devices.analog import Drift, PulsedUpdate, ReadNoise
from neurosim.devices.pulsed import PulsedArray, ReadNoiseSource

SHAPE = (100, 100)


def devices(seed: int = 0, name: str = "0-1", drift: Drift | None = None, **spec) -> PulsedArray:
    return PulsedArray(SHAPE, PulsedUpdate(**spec), drift or Drift(), seed, name, np.float64)


def programmed(array: PulsedArray, value: float = 0.0) -> np.ndarray:
    weights = np.full(SHAPE, value)
    array.program(weights)
    return weights


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.floats(1e-5, 1e-3))
def test_small_deterministic_pulses_reproduce_the_exact_update(seed, dw_min):
    """dw_min → 0, no noise, no variability, bounds far away: |w − (w₀ + αΔW)| ≤ dw_min/2."""
    rng = np.random.default_rng(seed)
    array = devices(seed, dw_min=dw_min, pulse_rounding="deterministic", max_pulses=10 ** 6, w_min=-10, w_max=10)
    start = rng.uniform(-0.5, 0.5, SHAPE)
    weights = start.copy()
    array.program(weights)
    change = rng.uniform(-20 * dw_min, 20 * dw_min, SHAPE)
    array.apply(weights, change)
    assert np.all(np.abs(weights - (start + change)) <= dw_min / 2 * (1 + 1e-9))


@pytest.mark.parametrize("step_std", [0.0, 0.3])
def test_constant_steps_have_the_mean_and_variance_of_the_pulse_count_distribution(step_std):
    """Change c = (k + p)·dw: stochastic rounding sends k + 1 pulses with probability p, so
    E[Δw] = c and Var[Δw] = dw²(p(1 − p) + E[n]·σ²) with per-pulse relative spread σ."""
    dw, k, p = 0.01, 3, 0.3
    array = devices(7, dw_min=dw, dw_min_std=step_std)
    weights = programmed(array)
    change = np.full(SHAPE, (k + p) * dw)
    array.apply(weights, change)
    n = weights.size
    mean_n = k + p
    variance = dw ** 2 * (p * (1 - p) + mean_n * step_std ** 2)
    assert abs(weights.mean() - (k + p) * dw) < 5 * np.sqrt(variance / n)
    assert abs(weights.var() - variance) < 5 * variance * np.sqrt(2 / n) + 1e-12


def test_an_update_is_cut_to_max_pulses():
    array = devices(dw_min=0.01, max_pulses=5, pulse_rounding="deterministic")
    weights = programmed(array)
    pulses, _, written = array.apply(weights, np.full(SHAPE, 0.5))
    assert pulses == 5 * weights.size and written == weights.size
    np.testing.assert_allclose(weights, 0.05)


@pytest.mark.parametrize("up_down", [-0.4, 0.0, 0.25])
def test_soft_bounds_alternating_pulses_settle_where_up_and_down_steps_are_equal(up_down):
    """aihwkit's one-sided asymmetry: steps a·dw up, b·dw down with (a, b) = (1 + min(u, 0),
    1 + min(−u, 0)); a(1 − w/W) = b(1 + w/W) at w* = W(a − b)/(a + b) = W·u/(2 − |u|)."""
    array = devices(dw_min=0.002, up_down=up_down, model="soft_bounds", w_min=-0.6, w_max=0.6,
                    pulse_rounding="deterministic")
    weights = programmed(array)
    one = np.full(SHAPE, 0.002)
    for _ in range(3000):
        array.apply(weights, one)
        array.apply(weights, -one)
    np.testing.assert_allclose(weights, 0.6 * up_down / (2 - abs(up_down)), atol=0.01)


@settings(max_examples=40, deadline=None)
@given(st.floats(-0.55, 0.55), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(-0.5, 0.5),
       st.sampled_from(["linear_step", "soft_bounds", "power_step"]))
def test_one_pulse_moves_the_weight_by_the_models_step(w, gamma_a, gamma_b, up_down, model):
    top, bottom = 0.6, -0.6
    rise, fall = 1 + min(up_down, 0.0), 1 + min(-up_down, 0.0)
    pow_gamma = 0.5 + 2 * gamma_a
    spec = dict(dw_min=0.001, up_down=up_down, gamma_up=gamma_a, gamma_down=gamma_b, model=model,
                pow_gamma=pow_gamma, pow_up_down=up_down, w_min=bottom, w_max=top, pulse_rounding="deterministic")
    epsilon = PulsedUpdate(**spec).granularity
    for sign in (1.0, -1.0):
        array = devices(**spec)
        weights = programmed(array, w)
        array.apply(weights, np.full(SHAPE, sign * epsilon))
        dw = 0.001 * (rise if sign > 0 else fall)
        if model == "linear_step":
            step = dw * (1 - (gamma_a * w / top if sign > 0 else gamma_b * w / bottom))
        elif model == "soft_bounds":
            step = dw * (1 - w / (top if sign > 0 else bottom))
        else:
            omega = (top - w) / (top - bottom)
            step = dw * (omega ** (pow_gamma * rise) if sign > 0 else (1 - omega) ** (pow_gamma * fall))
        expected = np.clip(w + sign * step, bottom, top)
        np.testing.assert_allclose(weights, expected, rtol=1e-12, atol=1e-15)


def test_device_to_device_draws_belong_to_the_chip_and_cycle_to_cycle_draws_to_each_pulse():
    spec = dict(dw_min=0.01, dw_min_dtod=0.3, up_down_dtod=0.1, w_max_dtod=0.2, w_min_dtod=0.2, dw_min_std=0.3)
    a, b, other = devices(3, **spec), devices(3, **spec), devices(3, name="1-2", **spec)
    for name in ("up", "down", "hi", "lo"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))  # the same chip from the same seed
        assert not np.array_equal(getattr(a, name), getattr(other, name))  # every block has its own devices
    assert a.up.std() > 0 and a.hi.std() > 0
    up = a.up.copy()
    first, second = programmed(a), programmed(a)
    a.apply(first, np.full(SHAPE, 0.01))
    a.apply(second, np.full(SHAPE, 0.01))
    np.testing.assert_array_equal(a.up, up)  # updating never changes the chip
    assert not np.array_equal(first, second)  # but every pulse draws its own step


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 1000), st.sampled_from(["w_min", "w_max", "zero", "random"]), st.floats(0.05, 0.9))
def test_stuck_devices_never_change(seed, value, fraction):
    array = devices(seed, dw_min=0.01, corrupt_devices_prob=fraction, corrupt_devices_value=value,
                    w_max_dtod=0.2, w_min_dtod=0.2)
    rng = np.random.default_rng(seed)
    weights = rng.uniform(-0.5, 0.5, SHAPE)
    array.program(weights)
    stuck = array.stuck
    assert 0 < stuck.sum() < stuck.size
    held = array.stuck_at[stuck]
    expected = {"w_min": array.lo, "w_max": array.hi, "zero": np.zeros(SHAPE)}.get(value)
    if expected is None:  # aihwkit's: uniform within ±corrupt_devices_range and the device's bounds
        assert np.all(np.abs(held) <= 0.1) and held.std() > 0
    else:
        np.testing.assert_array_equal(held, expected[stuck])
    np.testing.assert_array_equal(weights[stuck], held)
    for _ in range(5):
        array.apply(weights, rng.uniform(-0.2, 0.2, SHAPE))
        np.testing.assert_array_equal(weights[stuck], held)
    assert abs(stuck.mean() - fraction) < 5 * np.sqrt(fraction * (1 - fraction) / stuck.size)


def test_write_noise_is_added_to_the_hidden_conductance_with_its_std():
    array = devices(dw_min=0.01, write_noise_std=2.0, pulse_rounding="deterministic")
    weights = programmed(array)
    array.apply(weights, np.full(SHAPE, 0.03))
    np.testing.assert_allclose(array.hidden, 0.03)
    noise = weights - array.hidden
    assert abs(noise.mean()) < 5 * 0.02 / 100 and abs(noise.std() - 0.02) < 0.02 * 5 * np.sqrt(2 / noise.size)


def test_drift_scales_the_written_weight_by_the_power_law():
    drift = Drift(nu=0.05, nu_dtod=0.2, t_0=20.0)
    array = devices(dw_min=0.01, drift=drift, pulse_rounding="deterministic")
    weights = programmed(array, 0.0)
    array.apply(weights, np.full(SHAPE, 0.3), now=100.0)
    written = weights.copy()
    array.drift_to(weights, 110.0)  # within t_0 of the write: unchanged
    np.testing.assert_array_equal(weights, written)
    for t in (3600.0, 86400.0, 3.15e7):
        array.drift_to(weights, 100.0 + t)
        np.testing.assert_allclose(weights, written * (t / 20.0) ** (-array.nu), rtol=1e-6)
    assert abs(array.nu.mean() - 0.05) < 0.001 and abs(array.nu.std() - 0.01) < 0.001  # ν(1 + nu_dtod·ξ)


def test_read_noise_has_its_std_and_is_shared_between_phases_only_when_asked():
    """Shared: a clamped phase of T steps replays the last T steps of the free phase's noise."""
    current = np.zeros((50, 2000))
    for shared in (False, True):
        source = ReadNoiseSource(ReadNoise(out_noise=0.1, shared_between_phases=shared), seed=5)
        samples = {}
        for phase, steps in (("free", 10), ("weakly-clamped", 4), ("weakly-clamped-negative", 4)):
            source.begin_phase(phase, steps)
            samples[phase] = []
            for step in range(steps):
                source.at_step(step)
                drawn = current.copy()
                source.outputs(drawn)
                samples[phase].append(drawn)
        free = np.array(samples["free"])
        assert abs(free.std() - 0.1) < 0.1 * 5 * np.sqrt(2 / free.size)
        for clamped in ("weakly-clamped", "weakly-clamped-negative"):
            assert np.array_equal(np.array(samples[clamped]), free[-4:]) == shared
        assert not np.array_equal(free[0], free[1])  # every step draws anew
    relative = ReadNoiseSource(ReadNoise(out_noise=0.1, out_noise_relative=True), seed=5)
    twos = np.full((50, 2000), 2.0)
    relative.outputs(twos)
    assert abs((twos - 2.0).std() - 0.2) < 0.2 * 5 * np.sqrt(2 / twos.size)


def test_the_ledger_counts_the_pulses_sent_and_prices_the_update_by_them(tmp_path):
    """Update energy of a pulsed chip = pulses × energy per pulse; no digital weight write."""
    from conftest import network_scenario
    from neurosim.config.scenario import scenario_from_dict
    from neurosim.observe.ledger import Ledger
    from neurosim.observe.observer import Observer
    from neurosim.training.loop import train

    class Pulses(Observer):
        sent = 0

        def on_update(self, corrections, examples, model):
            Pulses.sent += model.synapses.pulses_sent

    scenario = scenario_from_dict(network_scenario({"devices": {"synapse": {"pulsed": {"dw_min": 0.0005}}}}))
    ledger = Ledger(scenario.devices, 32)
    train(scenario, observers=[ledger, Pulses()])
    rows = {(r.phase, r.device, r.action): r for r in ledger.rows()}
    assert Pulses.sent > 0 and rows[("update", "synapse", "pulse")].count == Pulses.sent
    assert ("update", "synapse", "weight_write") not in rows
    assert rows[("update", "synapse", "pulse")].energy_pJ == Pulses.sent * scenario.devices.energy.synapse.pulse.pJ
