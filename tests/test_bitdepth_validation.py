"""The bit-depth study validates every setting before anything trains.

A bit depth the devices cannot take (0, negative, above 24), an unknown rounding or
signal, or the backprop-only error signal on EP is refused with a ConfigError naming the
option and the value, before the float reference trains and without writing the study's
outputs. Training is replaced here by a function that fails the test, so a check that
came after any training would show.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import network_scenario, run_cli, write_scenario
from neurosim.config.scenario import scenario_from_dict
from neurosim.errors import ConfigError
from neurosim.studies import bitdepth
from neurosim.training.setup import load_data

SCENARIO = scenario_from_dict(network_scenario())
DATASET = load_data(SCENARIO)
MAX_BITS = 24
"""The largest bit depth of a quantisation point (the device schema's limit)."""


def _no_training(*args, **kwargs):
    raise AssertionError("a setting trained before every setting was validated")


@settings(max_examples=60, deadline=None)
@given(good=st.lists(st.integers(1, MAX_BITS), max_size=4),
       bad=st.one_of(st.integers(-5, 0), st.integers(MAX_BITS + 1, 64)),
       position=st.integers(0, 4), signal=st.sampled_from(sorted(set(bitdepth.SIGNALS) - {"errors"})),
       roundings=st.lists(st.sampled_from(["nearest", "stochastic", "truncate"]), min_size=1, max_size=3, unique=True))
def test_any_bad_bit_depth_is_refused_before_anything_trains(good, bad, position, signal, roundings):
    bits = good[:position] + [bad] + good[position:]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bitdepth, "train", _no_training)
        with pytest.raises(ConfigError) as info:
            bitdepth.study(SCENARIO, DATASET, signal, bits, roundings)
    assert info.value.key_path == "--bits" and str(bad) in info.value.reason


@pytest.mark.parametrize(("signal", "bits", "roundings", "option", "named"), [
    ("errors", [4], ["nearest"], "--signal", "datapath"),
    ("voltages", [4], ["nearest"], "--signal", "voltages"),
    ("weights", [4], ["up"], "--rounding", "up"),
    ("weights", [4], [], "--rounding", "no rounding"),
    ("weights", [], ["nearest"], "--bits", "no bit depth"),
    ("weights", [4.5], ["nearest"], "--bits", "4.5"),
])
def test_a_bad_signal_rounding_or_list_is_refused_before_anything_trains(monkeypatch, signal, bits, roundings,
                                                                         option, named):
    monkeypatch.setattr(bitdepth, "train", _no_training)
    with pytest.raises(ConfigError) as info:
        bitdepth.study(SCENARIO, DATASET, signal, bits, roundings)
    assert info.value.key_path == option and named in info.value.reason


def test_the_plan_holds_the_float_reference_and_every_setting_in_training_order():
    points = bitdepth.plan(SCENARIO, DATASET, "weights", [2, MAX_BITS], ["nearest", "stochastic"])
    assert [(p.bits, p.rounding) for p in points] == [
        (None, "float"), (2, "nearest"), (MAX_BITS, "nearest"), (2, "stochastic"), (MAX_BITS, "stochastic")]
    assert points[0].scenario.devices.ideal
    weight = points[-1].scenario.devices.synapse.weight
    assert (weight.bits, weight.rounding) == (MAX_BITS, "stochastic")


@pytest.mark.parametrize("bits", ["2,30", "30,4", "25"])
def test_the_command_refuses_a_bit_depth_before_training_and_writes_nothing(tmp_path, monkeypatch, capsys, bits):
    monkeypatch.setattr(bitdepth, "train", _no_training)
    path = write_scenario(tmp_path, network_scenario())
    out = tmp_path / "study"
    code, _, err = run_cli(monkeypatch, capsys, "bitdepth", path, "--bits", bits, "--out", out)
    assert code == 1 and "error: --bits: " in err and "bits of weights" in err and "24" in err
    assert not out.exists()
