"""One model interface, one loop, one observer interface for every datapath (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import neurosim as ns
from neurosim.cli import cli
from neurosim.config.scenario import load_scenario
from neurosim.observe.recorder import recording
from neurosim.training.loop import train

ROOT = Path(__file__).parent.parent
QUICK = {"training.epochs": 1, "data.train_size": 40, "data.test_size": 20, "topology.sizes": [784, 12, 10],
         "dynamics.t_free": 5, "dynamics.t_clamped": 2}


def scenario(file: str, **overrides):
    return load_scenario(ROOT / "scenarios" / file, overrides)


def test_a_backprop_trace_holds_activations_and_errors_under_their_own_names(tmp_path):
    bp = scenario("quickstart.yaml", **QUICK, datapath="bp")
    path = tmp_path / "bp.h5"
    with recording(path, bp) as observers:
        run = train(bp, observers=observers)
    run_file = ns.open_run(path)
    assert ("activation", "phase_end") in run_file.traces and ("error", "phase_end") in run_file.traces
    assert not any(bank in ("u0", "ubeta") for bank, _ in run_file.traces)
    activation, error = run_file.trace("activation", "phase_end"), run_file.trace("error", "phase_end")
    assert set(activation.phase) == {"forward"} and set(error.phase) == {"backward"}
    # the recorded cells are this batch's forward activations and backward errors
    model = run.model
    assert np.all((activation.values >= 0) & (activation.values <= 1))
    assert error.values.shape == activation.values.shape == (1, 20, model.neurons.size)
    with h5py.File(path) as f:
        assert "beta" not in f["metrics/batch"]  # backprop has no β


def test_an_ep_trace_is_unchanged_by_the_memory_bank(tmp_path):
    ep = scenario("quickstart.yaml", **QUICK)
    path = tmp_path / "ep.h5"
    with recording(path, ep) as observers:
        train(ep, observers=observers)
    run_file = ns.open_run(path)
    u0, ubeta = run_file.trace("u0", "phase_end"), run_file.trace("ubeta", "phase_end")
    assert set(u0.phase) == {"free"} and set(ubeta.phase) == {"weakly-clamped"}


def test_a_memory_cell_the_datapath_lacks_is_refused_before_training(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text((ROOT / "scenarios" / "deep-and.yaml").read_text() +
                    "trace: {records: [{banks: [ubeta], cadence: phase_end}]}\n")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code != 0
    assert "trace.records[0].banks[0]" in str(result.exception) and "no memory cell 'ubeta'" in str(result.exception)


def test_a_cell_named_beside_memory_is_refused(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text((ROOT / "scenarios" / "quickstart.yaml").read_text() +
                    "trace: {records: [{banks: [memory], cadence: update}, {banks: [u0], cadence: update}]}\n")
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert "trace.records[1].banks[0]" in str(result.exception) and "recorded twice" in str(result.exception)


def test_directed_and_layered_runs_share_loop_observers_ledger_and_recorder(tmp_path):
    counts = {}

    class Count(ns.Observer):
        def __init__(self, name):
            self.name = name

        def on_phase_end(self, phase, steps, examples, model, stored=True):
            counts[(self.name, phase)] = counts.get((self.name, phase), 0) + 1

    deep = scenario("deep-xor.yaml", **{"training.epochs": 3})
    path = tmp_path / "deep.h5"
    with recording(path, deep) as observers:
        run = train(deep, observers=[*observers, Count("deep")])
    assert [p.name for p in run.controller.phases] == ["free", "weakly-clamped", "update"]
    # 3 epochs × (1 training batch: free + weakly-clamped, then 1 evaluation: free)
    assert counts == {("deep", "free"): 6, ("deep", "weakly-clamped"): 3}
    with h5py.File(path) as f:
        assert f["metrics/epoch/mse"].shape == (3,) and f["ledger"].attrs["dynamics"] == "deep"
        assert f["trace/u0/phase_end/values"].shape[1:] == (4, 8)  # the graph's 8 neurons, inputs included
    assert run.model.state("hidden").shape == (4, 5)


@pytest.mark.slow
def test_sweep_runs_deep_over_a_device_file_grid(tmp_path):
    out = tmp_path / "sweep"
    result = CliRunner().invoke(cli, [
        "sweep", str(ROOT / "scenarios" / "deep-and.yaml"), "--set", "training.epochs=4", "--workers", "1", "--quiet",
        "--grid", "devices=../devices/ideal.yaml,../devices/analog-4bit-stochastic.yaml", "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "sweep.json").read_text())
    assert [p["status"] for p in manifest["points"]] == ["complete", "complete"]
    ideal, chip = (h5py.File(out / p["file"]) for p in manifest["points"])
    with ideal, chip:
        assert "lost_fraction" in chip["metrics/batch"] and "lost_fraction" not in ideal["metrics/batch"]
        direct = train(scenario("deep-and.yaml", **{"training.epochs": 4,
                                                    "devices": "../devices/analog-4bit-stochastic.yaml"}))
        np.testing.assert_array_equal(chip["metrics/epoch/mse"][()], [e.mse for e in direct.epochs])
