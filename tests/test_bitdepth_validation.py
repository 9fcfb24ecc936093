"""The bit-depth study validates every setting before anything trains.

A bit depth the devices cannot take (0, negative, above 24), an unknown rounding or
signal, a depth listed twice, or the backprop-only error signal on EP is refused with a
ConfigError naming the option and the value, before the float reference trains and
without writing the study's outputs. The sweep engine is replaced here by a function that
fails the test, so a check that came after any training would show.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import network_scenario, run_cli, write_scenario
from neurosim.errors import ConfigError
from neurosim.studies import bitdepth

CONTENT = network_scenario()
FILE = "scenario.yaml"
MAX_BITS = 24
"""The largest bit depth of a quantisation point (the device schema's limit)."""


def _no_training(*args, **kwargs):
    raise AssertionError("a setting trained before every setting was validated")


@settings(max_examples=60, deadline=None)
@given(good=st.lists(st.integers(1, MAX_BITS), max_size=4, unique=True),
       bad=st.one_of(st.integers(-5, 0), st.integers(MAX_BITS + 1, 64)),
       position=st.integers(0, 4), signal=st.sampled_from(sorted(set(bitdepth.SIGNALS) - {"errors"})),
       roundings=st.lists(st.sampled_from(["nearest", "stochastic", "truncate"]), min_size=1, max_size=3, unique=True))
def test_any_bad_bit_depth_is_refused_before_anything_trains(good, bad, position, signal, roundings):
    bits = good[:position] + [bad] + good[position:]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bitdepth.tolerance, "run_points", _no_training)
        with pytest.raises(ConfigError) as info:
            bitdepth.study(FILE, CONTENT, signal, bits, roundings)
    assert info.value.key_path == "--bits" and str(bad) in info.value.reason


@pytest.mark.parametrize(("signal", "bits", "roundings", "option", "named"), [
    ("errors", [4], ["nearest"], "--signal", "datapath"),
    ("voltages", [4], ["nearest"], "--signal", "voltages"),
    ("weights", [4], ["up"], "--rounding", "up"),
    ("weights", [4], [], "--rounding", "no rounding"),
    ("weights", [], ["nearest"], "--bits", "no bit depth"),
    ("weights", [4.5], ["nearest"], "--bits", "4.5"),
    ("weights", [4, 6, 4], ["nearest"], "--bits", "twice"),
    ("weights", [4], ["nearest", "stochastic", "nearest"], "--rounding", "twice"),
])
def test_a_bad_signal_rounding_or_list_is_refused_before_anything_trains(monkeypatch, signal, bits, roundings,
                                                                         option, named):
    monkeypatch.setattr(bitdepth.tolerance, "run_points", _no_training)
    with pytest.raises(ConfigError) as info:
        bitdepth.study(FILE, CONTENT, signal, bits, roundings)
    assert info.value.key_path == option and named in info.value.reason


def test_the_plan_holds_the_float_reference_and_every_setting_at_every_seed_once():
    study = bitdepth.plan(FILE, CONTENT, "weights", [2, MAX_BITS], ["nearest", "stochastic"], seeds=2)
    seed = study.seeds[0]
    assert study.seeds == (seed, seed + 1)
    assert [p.name for p in study.points] == [
        f"reference_seed={seed}", f"reference_seed={seed + 1}",
        f"weights.nearest.bits=2_seed={seed}", f"weights.nearest.bits=2_seed={seed + 1}",
        f"weights.nearest.bits={MAX_BITS}_seed={seed}", f"weights.nearest.bits={MAX_BITS}_seed={seed + 1}",
        f"weights.stochastic.bits=2_seed={seed}", f"weights.stochastic.bits=2_seed={seed + 1}",
        f"weights.stochastic.bits={MAX_BITS}_seed={seed}", f"weights.stochastic.bits={MAX_BITS}_seed={seed + 1}"]
    assert [p.params for p in study.points[:3]] == [{"rounding": "float", "bits": "float", "seed": seed},
                                                    {"rounding": "float", "bits": "float", "seed": seed + 1},
                                                    {"rounding": "nearest", "bits": 2, "seed": seed}]
    assert [a.key for a in study.axes] == ["rounding", "bits", "seed"]
    assert all(p.scenario.devices.ideal for p in study.points[:2])
    assert [p.scenario.seed for p in study.points] == [seed, seed + 1] * 5
    for point in study.points[2:]:
        rounding, bits = point.name.split("_")[0].removeprefix("weights.").split(".bits=")
        for device in (point.scenario.devices.synapse.weight, point.scenario.devices.synapse.update):
            assert (device.bits, device.rounding) == (int(bits), rounding)
        assert point.scenario.devices.neuron.state.bits is None  # the other signals stay as the scenario says


@pytest.mark.parametrize("bits", ["2,30", "30,4", "25"])
def test_the_command_refuses_a_bit_depth_before_training_and_writes_nothing(tmp_path, monkeypatch, capsys, bits):
    monkeypatch.setattr(bitdepth.tolerance, "run_points", _no_training)
    path = write_scenario(tmp_path, network_scenario())
    out = tmp_path / "study"
    code, _, err = run_cli(monkeypatch, capsys, "bitdepth", path, "--bits", bits, "--out", out)
    assert code == 1 and "error: --bits: " in err and "bits of weights" in err and "24" in err
    assert not out.exists()


def test_a_float_reference_that_cannot_be_built_names_the_scenario_file_not_an_option(monkeypatch):
    """The float reference is the scenario with ideal devices: when it does not fit its data
    (here an input layer of 100 neurons for 784-pixel digits), the error is the file's."""
    monkeypatch.setattr(bitdepth.tolerance, "run_points", _no_training)
    content = network_scenario(**{"topology.sizes": [100, 8, 10]})
    with pytest.raises(ConfigError) as info:
        bitdepth.study(FILE, content, "weights", [4], ["nearest"])
    assert info.value.file == FILE and info.value.key_path.startswith("topology")
    assert "float reference" in info.value.reason or "ideal reference" in info.value.reason
