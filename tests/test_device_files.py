"""Device files: validation errors, quantised weight updates, ideal = float, bit depth vs accuracy."""

from __future__ import annotations

import csv

import re

import numpy as np
import pytest
from scipy import stats

import neurosim

from conftest import DEFAULT, DEVICES, invoke_cli, network_scenario, quantisers, write_scenario
from neurosim.data.datasets import load_embedded
from neurosim.devices.spec import DeviceSpec, Quantisers, load_devices
from neurosim.devices.neurons import NeuronBank
from neurosim.devices.synapses import SynapseBank
from neurosim.errors import ConfigError
from neurosim.devices.energy import SynapseEnergy
from neurosim.observe.observer import Observer
from neurosim.observe.recorder import recording
from neurosim.config.scenario import load_scenario, scenario_from_dict
from neurosim.models.topology import layered
from neurosim.training.loop import train


@pytest.mark.parametrize("name", sorted(p.stem for p in DEVICES.glob("*.yaml")))
def test_shipped_device_files_are_valid(name):
    spec = load_devices(DEVICES / f"{name}.yaml")
    assert spec.name == name and spec.ideal == (name == "ideal")


ANALOG_PRESETS = ["pulsed-ideal", "reram-softbounds", "reram-softbounds-8bit-adc", "ecram-symmetric", "pcm-drift"]


@pytest.mark.parametrize("name", ANALOG_PRESETS)
def test_analog_presets_give_their_sources_and_run(name):
    """Every number of an analog preset has a source comment; a short EP run on it stays finite."""
    text = (DEVICES / f"{name}.yaml").read_text()
    section = text[text.index("\nsynapse:"):text.index("\nenergy:")]
    numbers = [line for line in section.splitlines() if re.match(r"\s*\w+:\s*-?[0-9.]", line)]
    assert numbers and all("#" in line for line in numbers), [line for line in numbers if "#" not in line]
    spec = load_devices(DEVICES / f"{name}.yaml")
    assert spec.synapse.pulsed is not None and spec.energy.synapse.pulse.source != SynapseEnergy().pulse.source
    run = train(scenario_from_dict(network_scenario(devices=f"{name}.yaml"), None, DEVICES))
    assert np.isfinite(run.epochs[-1].test_error)


@pytest.mark.parametrize("text, key, reason", [
    ("synapse: {weight: {bits: 0}}", "synapse.weight.bits", "greater than or equal to 1"),
    ("neuron: {state: {bits: 4, range: [1.0, 0.0]}}", "neuron.state", "inverted"),
    ("synapse: {update: {bits: 4, rounding: upward}}", "synapse.update.rounding", "'nearest', 'stochastic' or 'truncate'"),
    ("synapse: {wieght: {bits: 4}}", "synapse.wieght", "unknown key (allowed here: weight, update, activation, pulsed, read, drift)"),
    ("synapse: {weight: {bits: 4, range: [-1.0, 2.0]}}", "synapse.weight", "symmetric"),
])
def test_invalid_device_files_name_file_and_key(tmp_path, text, key, reason):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_devices(path)
    assert exc.value.file == str(path) and exc.value.key_path == key and reason in exc.value.reason


@pytest.mark.parametrize("content, reason", [
    (b"", "the file is empty (or holds only comments): expected a mapping of keys"),
    (b"- weight\n- update\n", "must be a YAML mapping of keys (KEY: VALUE lines), got a list"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not UTF-8 text (byte 0x89 on line 1, at offset 0)"),
    (bytes(range(256)), "is not UTF-8 text (byte 0x80 on line 2, at offset 128)"),  # byte 10 ends line 1
    (b"name: ok\x07\n", "line 1, column 9: invalid YAML (character U+0007 is not allowed in YAML text"),
    (b"synapse: {weight: {bits: 4}}\nsynapse: {}\n", "line 2, column 1: invalid YAML (duplicate key 'synapse')"),
], ids=["empty", "list", "png", "bytes", "control character", "duplicate"])
def test_a_file_that_is_no_device_file_is_named_with_the_reason(tmp_path, content, reason):
    path = tmp_path / "chip.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as direct:
        load_devices(path)
    scenario = write_scenario(tmp_path, "topology: {sizes: [4, 3, 2]}\ndevices: chip.yaml\n", "s.yaml")
    with pytest.raises(ConfigError) as through_a_scenario:
        load_scenario(scenario)
    for error in (direct.value, through_a_scenario.value):
        assert error.file == str(path) and reason in error.reason, str(error)


def test_scenario_device_file_and_overrides(tmp_path):
    write_scenario(tmp_path, "topology: {sizes: [4, 3, 2]}\ndevices: ../devs/d.yaml\n"
                             "device_overrides: {synapse.weight.bits: 3, neuron: {state: {rounding: truncate}}}\n",
                   "s.yaml")
    (tmp_path.parent / "devs").mkdir(exist_ok=True)
    (tmp_path.parent / "devs" / "d.yaml").write_text("synapse: {weight: {bits: 6}}\nneuron: {state: {bits: 5}}\n")
    scenario = load_scenario(tmp_path / "s.yaml")
    assert scenario.devices.synapse.weight.bits == 3
    assert scenario.devices.neuron.state.bits == 5 and scenario.devices.neuron.state.rounding == "truncate"
    with pytest.raises(ConfigError, match=r"s.yaml with --set device_overrides.synapse.weight.bitz=3: "
                                          r"device_overrides.synapse.weight.bitz: unknown key"):
        load_scenario(tmp_path / "s.yaml", {"device_overrides.synapse.weight.bitz": 3})


def _bank(bits: int, rounding: str, seed: int = 0) -> SynapseBank:
    spec = DeviceSpec.model_validate({"synapse": {"weight": {"bits": bits, "rounding": rounding},
                                                  "update": {"bits": bits, "rounding": rounding}}})
    topology = layered([30, 40])
    weights = {(0, 1): np.random.default_rng(1).uniform(-0.5, 0.5, (30, 40))}
    return SynapseBank(topology, weights, np.float64, Quantisers.build(spec, seed))


def test_nearest_update_below_half_a_step_leaves_weights_unchanged():
    bank = _bank(4, "nearest")
    step = bank.q.weight.step
    before = bank.weights[(0, 1)].copy()
    dw = np.random.default_rng(2).uniform(-1, 1, before.shape) * 0.49 * step / 0.01
    lost = bank.apply({(0, 1): dw}, {(0, 1): 0.01})
    assert np.array_equal(bank.weights[(0, 1)], before) and lost[0] == 1.0
    bank.apply({(0, 1): np.full(before.shape, 0.51 * step / 0.01)}, {(0, 1): 0.01})
    moved = bank.weights[(0, 1)] - before
    assert np.allclose(moved[before < bank.q.weight.levels()[-1]], step)


def test_stochastic_update_matches_alpha_dw_on_average():
    """Mean weight change over 1,200 connections × 1 draw, α·ΔW = 0.3 step: each change is
    0 or one step (Bernoulli 0.3), standard error of the mean step·sqrt(.21/1200) ≈ 0.013
    step; 5 sigma is the tolerance."""
    bank = _bank(6, "stochastic")
    step = bank.q.weight.step
    start = bank.weights[(0, 1)].copy()
    rate = 0.02
    bank.apply({(0, 1): np.full(start.shape, 0.3 * step / rate)}, {(0, 1): rate})
    inside = start < bank.q.weight.levels()[-2]
    mean = (bank.weights[(0, 1)] - start)[inside].mean()
    assert abs(mean - 0.3 * step) < 5 * step * np.sqrt(0.21 / inside.sum())


@pytest.fixture(scope="module")
def small_data():
    return load_embedded(train_size=400, test_size=200)


def _scenario(devices=DEFAULT, overrides=DEFAULT, **training):
    """784-40-10, 2 epochs at β = 0.5 on the ``small_data`` fixture's digits (no data section)."""
    content = network_scenario(seed=2, data=DEFAULT, devices=devices, device_overrides=overrides,
                               dynamics={"beta": 0.5, "t_free": 20, "t_clamped": 5},
                               training={"epochs": 2, "learning_rate": [0.1, 0.05], **training},
                               **{"topology.sizes": [784, 40, 10]})
    return scenario_from_dict(content, None, DEVICES)


def test_ideal_device_file_reproduces_the_float_simulation_exactly(small_data):
    float_run = train(_scenario(), small_data)
    ideal_run = train(_scenario("ideal.yaml"), small_data)
    for pair, w in float_run.model.synapses.weights.items():
        assert np.array_equal(w, ideal_run.model.synapses.weights[pair])
    assert np.array_equal(float_run.model.neurons.bias, ideal_run.model.neurons.bias)
    assert [e.test_error for e in float_run.epochs] == [e.test_error for e in ideal_run.epochs]


def test_16_bits_train_like_float_and_2_bit_weights_do_not(small_data):
    all16 = {f"{d}.{p}.bits": 16 for d, points in
             {"synapse": ["weight", "update", "activation"],
              "neuron": ["bias", "bias_update", "current", "state", "memory"]}.items() for p in points}
    reference = train(_scenario(), small_data).epochs[-1].test_error
    sixteen = train(_scenario(overrides=all16), small_data).epochs[-1].test_error
    two = train(_scenario(overrides={"synapse.weight.bits": 2, "synapse.update.bits": 2}), small_data)
    assert abs(sixteen - reference) <= 0.03
    assert two.epochs[-1].test_error >= reference + 0.2
    assert two.batches[-1].update.lost_fraction.min() == 1.0  # every update below half a step


def test_bitdepth_command_writes_tables_with_intervals_and_plot_and_reruns_nothing(tmp_path):
    """Two seeds per setting: every row has an interval, and each verdict follows from its
    paired difference's interval and the 2-point margin; 2-bit nearest weights lose every
    update, 16 bits are not worse than 2; a second invocation trains nothing (every run
    file is complete)."""
    scenario = write_scenario(tmp_path, network_scenario(
        seed=1, data={"train_size": 100, "test_size": 40}, dynamics={"t_free": 10, "t_clamped": 4},
        **{"topology.sizes": [784, 20, 10], "training.learning_rate": DEFAULT}), "s.yaml")
    args = ("bitdepth", scenario, "--bits", "2,16", "--rounding", "nearest", "--seeds", "2", "--workers", "1",
            "--quiet", "--out", tmp_path / "out")
    result = invoke_cli(*args)
    assert result.exit_code == 0, result.output
    with open(tmp_path / "out" / "bitdepth.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["rounding"], r["bits"], r["runs"]) for r in rows] == [
        ("float", "float", "2"), ("nearest", "2", "2"), ("nearest", "16", "2")]
    for row in rows:
        low, mean, high = (float(row[k]) for k in ("test_error_ci_low", "test_error_mean", "test_error_ci_high"))
        assert low <= mean <= high
        assert mean == pytest.approx((float(row["test_error_seed_1"]) + float(row["test_error_seed_2"])) / 2)
    for row in rows[1:]:
        low, high = float(row["difference_ci_low"]), float(row["difference_ci_high"])
        expected = "within" if high <= 0.02 + 1e-9 else "beyond" if low > 0.02 + 1e-9 else "undecided"
        assert row["verdict"] == expected
        differences = [float(row[f"test_error_seed_{s}"]) - float(rows[0][f"test_error_seed_{s}"]) for s in (1, 2)]
        half = stats.t.ppf(0.975, 1) * np.std(differences, ddof=1) / np.sqrt(2)  # paired seed by seed
        assert float(row["difference_mean"]) == pytest.approx(np.mean(differences))
        assert (low, high) == pytest.approx((np.mean(differences) - half, np.mean(differences) + half), abs=1e-6)
    assert float(rows[1]["lost_0-1"]) == 1.0
    assert float(rows[2]["test_error_mean"]) <= float(rows[1]["test_error_mean"])
    assert (tmp_path / "out" / "bitdepth.png").stat().st_size > 0
    assert "Lowest bit depth within" in (tmp_path / "out" / "bitdepth.md").read_text()
    with open(tmp_path / "out" / "summary.csv") as f:  # the sweep's own summary: one grid, rounding × bits × seed
        summary = list(csv.DictReader(f))
    assert sorted((r["rounding"], r["bits"], r["seed"]) for r in summary) == sorted(
        (rounding, bits, seed) for rounding, bits in (("float", "float"), ("nearest", "2"), ("nearest", "16"))
        for seed in ("1", "2"))
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").glob("*_seed=*.h5")}
    again = invoke_cli(*args)
    assert again.exit_code == 0, again.output
    assert len(stamps) == 6 and {p: p.stat().st_mtime_ns for p in stamps} == stamps


class WeightWatch(Observer):
    """Counts, independently of the synapse bank, the connections whose update was lost:
    ΔW ≠ 0 but the stored weight the same after the update as before it."""

    def __init__(self):
        self.fractions = []

    def on_phase_end(self, phase, steps, examples, model, stored=True):
        if phase == "weakly-clamped":
            self.before = {pair: w.copy() for pair, w in model.synapses.weights.items()}

    def on_update(self, corrections, examples, model):
        row = []
        for pair, dw in corrections.items():
            changed = dw != 0
            same = model.synapses.weights[pair] == self.before[pair]
            row.append((changed & same).sum() / changed.sum() if changed.any() else np.nan)
        self.fractions.append(row)


def test_run_file_stores_lost_fraction_per_batch_when_weights_are_quantised(tmp_path, small_data):
    """4-bit weights and updates (step 0.125, nearest): with α = 0.001 every update of the
    1-2 pair is far below half a step (all lost); the 0-1 pair's α = 1 moves a few percent
    (measured 4 %, 2 %, 3 %, 0.1 %, …). The file's numbers equal an independent count."""
    scenario = _scenario(overrides={"synapse.weight.bits": 4, "synapse.update.bits": 4},
                         learning_rate=[1.0, 0.001], epochs=1)
    watch = WeightWatch()
    with recording(tmp_path / "q.h5", scenario) as observers:
        train(scenario, small_data, max_batches=6, observers=[*observers, watch])
    run = neurosim.open_run(tmp_path / "q.h5")
    assert run.lost_fraction.shape == (6, 2) and run.layer_pairs == ["0-1", "1-2"]
    np.testing.assert_array_equal(run.lost_fraction, np.array(watch.fractions))
    small, large = run.lost_fraction[:, 1], run.lost_fraction[:, 0]
    assert np.isfinite(small).sum() >= 3 and (small[np.isfinite(small)] == 1.0).all()
    assert np.isfinite(large).all() and (large > 0).all() and (large < 1).any()


def test_run_file_has_no_lost_fraction_with_ideal_weights(tmp_path, small_data):
    scenario = _scenario(overrides={"neuron.state.bits": 4}, epochs=1)  # quantised neurons, ideal synapses
    with recording(tmp_path / "i.h5", scenario) as observers:
        train(scenario, small_data, max_batches=2, observers=observers)
    run = neurosim.open_run(tmp_path / "i.h5")
    assert run.lost_fraction is None and "lost_fraction" not in run.batch and len(run.batch["cost"]) == 2


def test_bitdepth_refuses_the_error_cell_on_an_ep_scenario(tmp_path):
    scenario = write_scenario(tmp_path, "topology: {sizes: [784, 20, 10]}\n", "s.yaml")  # an EP scenario: no error cell
    result = invoke_cli("bitdepth", scenario, "--signal", "errors", "--out", tmp_path / "o")
    assert isinstance(result.exception, ConfigError) and result.exception.key_path == "--signal"
    assert "error cell" in result.exception.reason and not (tmp_path / "o").exists()


@pytest.mark.parametrize("split", [True, False], ids=["split", "euler"])
@pytest.mark.parametrize("rounding", ["nearest", "truncate", "stochastic"])
def test_fused_neuron_step_is_adc_then_integrate_then_state_then_dac(rounding, split):
    """A quantised step equals the composition of the three quantisers applied to whole
    arrays (stochastic: each point's generator draws one number per neuron, in order, and
    the step and the bank's own load/send draw from the same stream, never reusing a number)."""
    spec = {"synapse": {"activation": {"bits": 3, "rounding": rounding}},
            "neuron": {"current": {"bits": 5, "rounding": rounding}, "state": {"bits": 4, "rounding": rounding}}}
    topology = layered([3, 6, 4])
    bank = NeuronBank(topology.state_slices(), np.float64, quantisers(spec))
    rng = np.random.default_rng(4)
    start, current = rng.uniform(0, 1, (5, 10)), rng.normal(0, 2, (5, 10))
    target, epsilon, nudge = rng.uniform(0, 1, (5, 4)), 0.3, 0.8
    reference = quantisers(spec)
    bank.load(start)
    s = reference.state(start)
    reference.activation(s)  # load() drives the DAC once
    for _ in range(3):
        bank.integrate(current, epsilon, nudge, target, split)
        drive = reference.current(current)
        if split:  # the nudge acts on the state after the free step
            v = (1 - epsilon) * s + epsilon * drive
            v[:, 6:] += epsilon * nudge * (target - v[:, 6:])
        else:
            drive[:, 6:] += nudge * (target - s[:, 6:])
            v = (1 - epsilon) * s + epsilon * drive
        s = reference.state(np.clip(v, 0, 1))
        np.testing.assert_array_equal(bank.s, s)
        np.testing.assert_array_equal(bank.activation(), reference.activation(s))
    np.testing.assert_array_equal(bank.send(start), reference.activation(start))  # one stream per point
