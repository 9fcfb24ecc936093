"""The device-tolerance study: its statistics against hand-computed values, the tolerable
range rule, validation of every value before anything trains, and one small run of the
command end to end."""

from __future__ import annotations

import csv
import math

import pytest

from conftest import directed_scenario, network_scenario, run_cli, write_scenario
from neurosim.errors import ConfigError
from neurosim.studies import tolerance
from neurosim.analysis.statistics import Interval, paired_difference, t_interval
from neurosim.studies.tolerance import BEYOND, FAILED, UNDECIDED, WITHIN, tolerable_range, verdict

PULSED = network_scenario(name="tiny-pulsed", **{"devices": {"synapse": {"pulsed": {"dw_min": 0.001}}}})
"""The tiny network on a constant-step pulsed synapse (up_down 0 as given)."""


# --------------------------------------------------------------------------- statistics


def test_t_interval_of_five_numbers():
    """1..5: mean 3, s = √2.5 = 1.5811, t(0.975, 4) = 2.7764 → half-width 2.7764·1.5811/√5 = 1.9632."""
    interval = t_interval([1, 2, 3, 4, 5])
    assert interval.n == 5 and interval.mean == pytest.approx(3.0)
    assert interval.low == pytest.approx(1.0367568, abs=1e-6)
    assert interval.high == pytest.approx(4.9632432, abs=1e-6)


def test_t_interval_of_three_test_errors():
    """0.10, 0.12, 0.14: s = 0.02, t(0.975, 2) = 4.3027 → half-width 4.3027·0.02/√3 = 0.049683."""
    interval = t_interval([0.10, 0.12, 0.14])
    assert interval.mean == pytest.approx(0.12)
    assert interval.half_width == pytest.approx(0.0496829, abs=1e-6)
    assert interval.low == pytest.approx(0.0703171, abs=1e-6)


def test_t_interval_of_one_sample_has_no_width_and_nans_are_left_out():
    one = t_interval([0.2, math.nan])
    assert one.n == 1 and one.mean == 0.2 and math.isnan(one.low) and math.isnan(one.high)
    none = t_interval([math.nan])
    assert none.n == 0 and math.isnan(none.mean)


def test_paired_difference_is_the_interval_of_the_per_seed_differences():
    """Differences 0.01, 0.03, 0.01: mean 0.016667, s = 0.011547, half-width 4.3027·0.011547/√3 = 0.028684."""
    difference = paired_difference([0.10, 0.13, 0.12], [0.09, 0.10, 0.11])
    assert difference.n == 3 and difference.mean == pytest.approx(0.0166667, abs=1e-6)
    assert difference.low == pytest.approx(-0.0120176, abs=1e-6)
    assert difference.high == pytest.approx(0.0453509, abs=1e-6)
    assert paired_difference([0.1, math.nan, 0.3], [0.1, 0.2, math.nan]).n == 1  # only complete pairs


@pytest.mark.parametrize(("difference", "expected"), [
    (Interval(0.005, -0.01, 0.02, 3), WITHIN),       # the upper end exactly at the margin
    (Interval(0.005, -0.01, 0.019, 3), WITHIN),
    (Interval(0.015, 0.005, 0.025, 3), UNDECIDED),   # mean within, but the interval reaches past the margin
    (Interval(0.04, 0.021, 0.06, 3), BEYOND),        # even the lower end is past the margin
    (Interval(0.02, math.nan, math.nan, 1), WITHIN),  # one seed: the difference itself decides
    (Interval(0.03, math.nan, math.nan, 1), BEYOND),
    (Interval(math.nan, math.nan, math.nan, 0), FAILED),
])
def test_verdict_uses_the_confidence_interval_against_the_margin(difference, expected):
    assert verdict(difference, 0.02) == expected


# --------------------------------------------------------------------------- tolerable range


@pytest.mark.parametrize(("values", "within", "anchor", "expected"), [
    ([0, 0.1, 0.2, 0.4, 0.8], [True, True, False, True, False], 0, (0, 0.1)),  # 0.4 is cut off by 0.2
    ([0.8, 0.1, 0, 0.4, 0.2], [False, True, True, True, False], 0, (0, 0.1)),  # any order
    ([-0.4, -0.2, 0, 0.2, 0.4], [False, True, True, True, True], 0, (-0.2, 0.4)),  # both sides
    ([0.1, 0.2, 0.3], [True, True, False], 0.15, (0.1, 0.2)),  # the anchor between two values
    ([0.1, 0.2, 0.3], [True, True, True], 0.0, (0.1, 0.3)),  # the anchor below every value
    ([0.1, 0.2, 0.3], [False, True, True], 0.0, None),  # the nearest value is not within
    ([2, 4, 8], [True, False, True], 8, (8, 8)),
])
def test_the_tolerable_range_grows_from_the_anchor_through_values_within(values, within, anchor, expected):
    assert tolerable_range(values, within, anchor) == expected


def fake_runs(monkeypatch, plan, errors: dict) -> None:
    """Make the study read ``errors`` (value → test error per seed; None: the run failed) as its runs' results."""
    rows = []
    runs = [("reference", plan.reference_runs)] + [(v, names) for v, names in zip(plan.values, plan.runs)
                                                   if names != plan.reference_runs]
    for value, names in runs:
        for name, error in zip(names, errors[value]):
            rows.append({"point": name, "status": "failed" if error is None else "complete",
                         "test_error": error, "train_error": error, "error": "diverged" if error is None else ""})
    monkeypatch.setattr(tolerance, "summarise", lambda directory: rows)


def test_results_from_hand_made_runs(monkeypatch, tmp_path):
    """Reference 10/12/14 %, three values: one within, one undecided, one that diverged on one seed."""
    path = write_scenario(tmp_path, PULSED)
    content, _ = tolerance.read_scenario(path)
    plan = tolerance.plan(path, content, "device_overrides.synapse.pulsed.up_down", (0.1, 0.3, 0.6), seeds=3)
    fake_runs(monkeypatch, plan, {"reference": [0.10, 0.12, 0.14], 0.1: [0.11, 0.12, 0.14], 0.3: [0.12, 0.16, 0.15],
                                  0.6: [0.5, None, 0.6]})
    result = tolerance.results(plan, tmp_path, margin=0.02)
    reference, small, middle, large = result.rows
    assert reference.test.mean == pytest.approx(0.12)
    assert reference.test.half_width == pytest.approx(0.0496829, abs=1e-6)
    # differences 0.01, 0, 0: mean 0.003333, s = 0.005774, half-width 4.3027·0.005774/√3 = 0.014342
    assert small.difference.high == pytest.approx(0.003333 + 0.014342, abs=1e-5) and small.verdict == WITHIN
    # differences 0.02, 0.04, 0.01: mean 0.023333, s = 0.015275, half-width 4.3027·0.015275/√3 = 0.037946
    assert middle.difference.low == pytest.approx(0.023333 - 0.037946, abs=1e-5) and middle.verdict == UNDECIDED
    assert large.verdict == FAILED and large.test.n == 2 and large.failures
    assert result.anchor == 0.0 and result.limits == (0.0, 0.1)  # from the reference's own value
    text = tolerance.write_tables(result, tmp_path / "out")
    assert "reference (as given: 0.0)" in text and "diverged" in text
    assert "lowest 0.0 (the reference's), highest 0.1" in text
    with open(tmp_path / "out" / "table.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [r["value"] for r in table] == ["reference", "0.1", "0.3", "0.6"]
    assert float(table[1]["difference_mean"]) == pytest.approx(0.0033333, abs=1e-6)
    assert [r["verdict"] for r in table[1:]] == [WITHIN, UNDECIDED, FAILED]


def test_when_no_value_is_within_only_the_references_own_value_is_tolerable(monkeypatch, tmp_path):
    path = write_scenario(tmp_path, PULSED)
    content, _ = tolerance.read_scenario(path)
    plan = tolerance.plan(path, content, "device_overrides.synapse.pulsed.up_down", (0.3,), seeds=3)
    fake_runs(monkeypatch, plan, {"reference": [0.10, 0.12, 0.14], 0.3: [0.3, 0.4, 0.35]})
    result = tolerance.results(plan, tmp_path, margin=0.02)
    assert result.rows[1].verdict == BEYOND and result.limits == (0.0, 0.0)
    assert "only the reference's own value, 0.0" in tolerance.rule_text(result)


def test_without_a_value_of_its_own_the_reference_range_starts_at_the_best_value(monkeypatch, tmp_path):
    """Ideal reference, bit depths 2/4/6/8: the range grows from the best value (6 bits) through values within."""
    path = write_scenario(tmp_path, network_scenario())
    content, _ = tolerance.read_scenario(path)
    plan = tolerance.plan(path, content, "device_overrides.synapse.weight.bits", (8, 6, 4, 2), seeds=1,
                          reference="ideal")
    fake_runs(monkeypatch, plan, {"reference": [0.20], 2: [0.9], 4: [0.25], 6: [0.19], 8: [0.21]})
    result = tolerance.results(plan, tmp_path, margin=0.02)
    assert [r.value for r in result.rows] == ["reference", 2, 4, 6, 8]
    assert [r.verdict for r in result.rows[1:]] == [BEYOND, BEYOND, WITHIN, WITHIN]
    assert result.anchor == 6 and result.limits == (6, 8)
    tolerance.plot(result, tmp_path / "bits.png")
    assert (tmp_path / "bits.png").stat().st_size > 0


def test_values_that_are_not_numbers_get_verdicts_but_no_range(monkeypatch, tmp_path):
    path = write_scenario(tmp_path, PULSED)
    content, _ = tolerance.read_scenario(path)
    plan = tolerance.plan(path, content, "device_overrides.synapse.pulsed.model", ("soft_bounds", "linear_step"),
                          seeds=2)
    fake_runs(monkeypatch, plan, {"reference": [0.1, 0.1], "soft_bounds": [0.1, 0.1], "linear_step": [0.3, 0.31]})
    result = tolerance.results(plan, tmp_path, margin=0.02)
    assert [(r.value, r.verdict) for r in result.rows[1:]] == [("soft_bounds", WITHIN), ("linear_step", BEYOND)]
    assert result.limits is None and "Tolerable range" not in tolerance.rule_text(result)
    tolerance.plot(result, tmp_path / "models.png")
    assert (tmp_path / "models.png").stat().st_size > 0


# --------------------------------------------------------------------------- planning and validation


def _no_sweep(*args, **kwargs):
    raise AssertionError("a run started before every value was validated")


@pytest.mark.parametrize(("param", "named"), [
    ("synapse.pulsed.up_down=0.1,1.5", "device_overrides.synapse.pulsed.up_down=1.5: Input should be less than 1"),
    ("synapse.pulsed.up_dwn=0.1", "unknown key"),
    ("synapse.pulsed.dw_min=0.001,two", "dw_min=two"),
    ("synapse.weight.bits=4", "pulsed synapse"),  # bits and pulses do not mix
    ("synapse.pulsed.up_down=0.1,0.1", "listed twice"),
    ("synapse.pulsed.up_down=0,0.0", "listed twice"),
    ("synapse.pulsed.model=reference", "names the reference"),
    ("synapse.pulsed.up_down=", "no value"),
    ("synapse.pulsed.up_down", "KEY.PATH=VALUE1"),
    ("seed=1,2", "--seeds"),
    ("topology.sizes=[784,8,10],[784,0,10]", "[784, 0, 10]"),
    ("topology.sizes=[784,8,10],[100,8,10]", "[100, 8, 10]"),  # valid, but not for these data: found building it
])
def test_every_value_is_validated_before_anything_runs(monkeypatch, tmp_path, param, named):
    monkeypatch.setattr(tolerance, "run_sweep", _no_sweep)
    path = write_scenario(tmp_path, PULSED)
    content, _ = tolerance.read_scenario(path)
    with pytest.raises(ConfigError) as info:
        tolerance.study(path, content, param, seeds=2, out=tmp_path / "out")
    assert info.value.key_path == "--param" and named in info.value.reason
    assert not (tmp_path / "out").exists()


def test_a_device_key_goes_through_device_overrides_and_a_scenario_key_does_not():
    assert tolerance.parse_param("synapse.read.out_noise=0,0.05") == ("device_overrides.synapse.read.out_noise",
                                                                      (0, 0.05))
    assert tolerance.parse_param("dynamics.beta=0.5,1.0") == ("dynamics.beta", (0.5, 1.0))


def test_the_plan_runs_a_value_equal_to_the_reference_once(tmp_path):
    path = write_scenario(tmp_path, PULSED)
    content, _ = tolerance.read_scenario(path)
    plan = tolerance.plan(path, content, "device_overrides.synapse.pulsed.up_down", (0.0, 0.2), seeds=2)
    assert plan.seeds == (1, 2) and plan.reference_value == 0.0
    assert [p.name for p in plan.points] == ["reference_seed=1", "reference_seed=2",
                                             "device_overrides.synapse.pulsed.up_down=0.2_seed=1",
                                             "device_overrides.synapse.pulsed.up_down=0.2_seed=2"]
    assert plan.runs[0] == plan.reference_runs
    assert plan.points[2].scenario.devices.synapse.pulsed.up_down == 0.2
    assert plan.points[3].scenario.seed == 2


def test_the_ideal_reference_has_ideal_devices_and_bits_are_a_device_parameter(tmp_path):
    path = write_scenario(tmp_path, network_scenario())
    content, _ = tolerance.read_scenario(path)
    plan = tolerance.plan(path, content, "device_overrides.synapse.weight.bits", (4, 8), seeds=1, reference="ideal")
    assert plan.points[0].scenario.devices.ideal and plan.reference_value is None
    assert [p.scenario.devices.synapse.weight.bits for p in plan.points[1:]] == [4, 8]


def test_max_batches_shortens_the_data_and_refuses_a_directed_graph(tmp_path):
    path = write_scenario(tmp_path, network_scenario(**{"data.train_size": 100}))
    content, _ = tolerance.read_scenario(path)
    plan = tolerance.plan(path, content, "dynamics.beta", (0.5,), seeds=1, max_batches=2)
    data = plan.points[0].scenario.data
    assert (data.train_size, data.test_size) == (40, 20)  # 2 × 20 training digits; only 20 test digits exist
    directed = write_scenario(tmp_path, directed_scenario(), "directed.yaml")
    content, _ = tolerance.read_scenario(directed)
    with pytest.raises(ConfigError) as info:
        tolerance.plan(directed, content, "dynamics.beta", (0.5,), seeds=1, max_batches=1)
    assert info.value.key_path == "--max-batches"


def test_the_command_refuses_a_bad_value_and_writes_nothing(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(tolerance, "run_sweep", _no_sweep)
    path = write_scenario(tmp_path, PULSED)
    code, _, err = run_cli(monkeypatch, capsys, "tolerance", path,
                           "--param", "synapse.pulsed.corrupt_devices_prob=0.1,2", "--out", tmp_path / "out")
    assert code == 1 and "error: --param: device_overrides.synapse.pulsed.corrupt_devices_prob=2:" in err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
def test_the_command_writes_table_and_plot_and_resumes(monkeypatch, capsys, tmp_path):
    """Two values (one of them the reference's own) × two seeds on a local Dask cluster:
    4 runs, then the same command again runs nothing and writes the same table. (3 s on an
    idle machine, up to 12 s under load: starting the cluster dominates.)"""
    path = write_scenario(tmp_path, PULSED)
    out = tmp_path / "study"
    args = ("tolerance", path, "--param", "synapse.pulsed.up_down=0,0.5", "--seeds", "2", "--workers", "1",
            "--out", out, "--quiet")
    code, text, _ = run_cli(monkeypatch, capsys, *args)
    assert code == 0 and "4 run(s)" in text
    runs = sorted(p.name for p in out.glob("*.h5") if p.name != "summary.h5")
    assert runs == ["device_overrides.synapse.pulsed.up_down=0.5_seed=1.h5",
                    "device_overrides.synapse.pulsed.up_down=0.5_seed=2.h5",
                    "reference_seed=1.h5", "reference_seed=2.h5"]
    with open(out / "table.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert [(r["value"], r["runs"]) for r in table] == [("reference", "2"), ("0", "2"), ("0.5", "2")]
    assert float(table[1]["difference_mean"]) == 0.0 and table[1]["verdict"] == WITHIN
    assert "| 0 (= reference) | 2 |" in (out / "table.md").read_text()
    assert (out / "tolerance.png").stat().st_size > 0
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*_seed=*.h5")}
    first = (out / "table.csv").read_text()
    code, _, _ = run_cli(monkeypatch, capsys, *args)
    assert code == 0 and {p.name: p.stat().st_mtime_ns for p in out.glob("*_seed=*.h5")} == stamps
    assert (out / "table.csv").read_text() == first
