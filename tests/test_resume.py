"""Nothing lost: a run stopped at any point (Ctrl-C, SIGTERM, kill -9, a failure) keeps its
completed epochs, and ``--resume`` continues it into a file bit-identical to an
uninterrupted run's; nothing is overwritten without being asked (issue 13)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import DEVICES, directed_scenario, network_scenario, run_cli, write_scenario
from neurosim.config.scenario import scenario_from_dict
from neurosim.errors import RunInterrupted, SimulationDiverged
from neurosim.observe.observer import Observer
from neurosim.observe.recorder import ResumeError, recording
from neurosim.runfile.layout import partial_path
from neurosim.training.loop import prepare, train_run

VOLATILE_ATTRS = {"start_time", "end_time", "resumed_at"}
"""Root attributes that hold wall-clock times."""
VOLATILE_DATASETS = {"metrics/epoch/seconds"}
"""Datasets that hold wall-clock durations."""

TRACE_EVERYTHING = {"trace": {"enabled": True, "records": [
    {"banks": ["state", "memory"], "cadence": "phase_end"},
    {"banks": ["state"], "cadence": "step", "batches": [1]},
    {"banks": ["weights", "bias"], "cadence": "epoch"},
    {"banks": ["delta_w"], "cadence": "update"},
]}}

KINDS = {
    "ep": network_scenario({"data.train_size": 60, "training.epochs": 3}, **TRACE_EVERYTHING),
    "bp": network_scenario({"data.train_size": 60, "training.epochs": 3, "datapath": "bp"}),
    "stochastic": network_scenario({"data.train_size": 60, "training.epochs": 3, "training.shuffle": True,
                                    "dynamics.estimator": "random_sign",
                                    "devices": str(DEVICES / "analog-4bit-stochastic.yaml")}),
    "pulsed": network_scenario({"data.train_size": 60, "training.epochs": 3, "devices": {
        "synapse": {"pulsed": {"model": "soft_bounds", "dw_min": 0.002, "dw_min_dtod": 0.2, "dw_min_std": 0.3,
                               "up_down": 0.1, "write_noise_std": 0.5, "corrupt_devices_prob": 0.05},
                    "read": {"out_noise": 0.02, "inp_noise": 0.01},
                    "drift": {"nu": 0.05, "t_0": 1e-6}}}}),
    "deep": directed_scenario({"directed.sparsity": True, "directed.threshold": 0.3,
                                "directed.temperature": 0.2, "training.epochs": 3}),
}
"""One small scenario per kind of run: EP (traced), backprop, stochastic rounding with a
shuffled order and random β signs, pulsed analog synapses with every non-ideality (drift
fast enough to act during training), DEEP with pruning (every random stream in use)."""


def _items(path: Path) -> dict[str, tuple]:
    out = {}
    with h5py.File(path, "r") as f:
        out["/"] = ({k: v for k, v in f.attrs.items() if k not in VOLATILE_ATTRS},)

        def visit(name, obj):
            attrs = dict(obj.attrs)
            if isinstance(obj, h5py.Dataset):
                out[name] = (obj.dtype, None if name in VOLATILE_DATASETS else obj[()], attrs)
            else:
                out[name] = (attrs,)

        f.visititems(visit)
    return out


def assert_same_run(a: Path, b: Path) -> None:
    """Every group, dataset (dtype and values) and attribute equal, wall-clock times aside."""
    left, right = _items(a), _items(b)
    assert left.keys() == right.keys()
    for name in left:
        for x, y in zip(left[name], right[name]):
            if isinstance(x, dict):
                assert x.keys() == y.keys(), name
                for key in x:
                    assert np.array_equal(x[key], y[key]), f"{name} attribute {key}"
            elif isinstance(x, np.ndarray):
                assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), name
            else:
                assert x == y, name


class Stop(Observer):
    """Sends ``signum`` to this process after training batch ``batch`` of ``epoch``."""

    def __init__(self, epoch: int, batch: int, signum: int = signal.SIGINT):
        self.at, self.signum = (epoch, batch), signum

    def on_train_batch(self, epoch, batch, record):
        if (epoch, batch) == self.at:
            os.kill(os.getpid(), self.signum)


def _record(scenario, path: Path, extra=(), resume: bool = False) -> None:
    run = prepare(scenario)
    with recording(path, scenario, resume=resume) as observers:
        observers.restore(run)
        train_run(run, epochs=scenario.training.epochs - observers.epochs_completed,
                  observers=[*observers, *extra])


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> dict[str, Path]:
    """An uninterrupted run file of every kind."""
    directory = tmp_path_factory.mktemp("references")
    out = {}
    for kind, content in KINDS.items():
        out[kind] = directory / f"{kind}.h5"
        _record(scenario_from_dict(content), out[kind])
    return out


@pytest.mark.parametrize("kind, epoch, batch, signum", [
    ("ep", 0, 0, signal.SIGINT),     # before any epoch completed: nothing kept, resume starts afresh
    ("ep", 1, 0, signal.SIGINT),     # in the middle of an epoch
    ("ep", 2, 2, signal.SIGTERM),    # in the last epoch's test pass
    ("bp", 1, 1, signal.SIGINT),
    ("stochastic", 1, 1, signal.SIGTERM),
    ("pulsed", 1, 2, signal.SIGINT),
    ("deep", 1, 0, signal.SIGINT),
])
def test_a_run_stopped_by_a_signal_resumes_into_the_same_file(tmp_path, references, kind, epoch, batch, signum):
    scenario = scenario_from_dict(KINDS[kind])
    path = tmp_path / "r.h5"
    with pytest.raises(RunInterrupted) as stopped:
        _record(scenario, path, [Stop(epoch, batch, signum)])
    assert stopped.value.signal_name == signal.Signals(signum).name
    assert not path.exists()
    kept = stopped.value.epochs_completed
    assert kept == epoch
    if kept:
        with h5py.File(partial_path(path), "r") as f:
            assert f.attrs["status"] == "interrupted" and f.attrs["epochs_completed"] == kept
            assert len(f["metrics/epoch/test_error"]) == kept
    else:
        assert not partial_path(path).exists()
    _record(scenario, path, resume=True)
    assert not partial_path(path).exists()
    assert_same_run(path, references[kind])


def test_a_second_signal_stops_at_once_and_still_keeps_the_completed_epochs(tmp_path, references):
    class Twice(Observer):
        def on_phase_end(self, phase, steps, examples, model, stored=True):
            if self.armed:
                os.kill(os.getpid(), signal.SIGINT)

        armed = False

        def on_epoch_start(self, epoch, train_batches, test_batches):
            self.armed = epoch == 1

    scenario = scenario_from_dict(KINDS["ep"])
    path = tmp_path / "r.h5"
    with pytest.raises(RunInterrupted) as stopped:
        _record(scenario, path, [Twice()])
    assert stopped.value.epochs_completed == 1
    _record(scenario, path, resume=True)
    assert_same_run(path, references["ep"])


def test_resuming_a_partial_file_twice_in_a_row_still_matches(tmp_path, references):
    scenario = scenario_from_dict(KINDS["stochastic"])
    path = tmp_path / "r.h5"
    with pytest.raises(RunInterrupted):
        _record(scenario, path, [Stop(0, 2)])
    with pytest.raises(RunInterrupted):
        _record(scenario, path, [Stop(2, 0)], resume=True)
    _record(scenario, path, resume=True)
    assert_same_run(path, references["stochastic"])


def test_a_partial_file_of_another_scenario_is_refused_naming_the_difference(tmp_path):
    scenario = scenario_from_dict(KINDS["ep"])
    path = tmp_path / "r.h5"
    with pytest.raises(RunInterrupted):
        _record(scenario, path, [Stop(1, 0)])
    other = scenario_from_dict(network_scenario({"data.train_size": 60, "training.epochs": 3,
                                                 "training.learning_rate": 0.01}, **TRACE_EVERYTHING))
    with pytest.raises(ResumeError, match="training.learning_rate"):
        _record(other, path, resume=True)
    with h5py.File(partial_path(path), "r") as f:  # refused: left as it was
        assert f.attrs["status"] == "interrupted" and f.attrs["epochs_completed"] == 1


class Fail(Observer):
    """Raises ``error`` at the first update of epoch 1."""

    def __init__(self, error: Exception):
        self.error = error

    def on_epoch_start(self, epoch, train_batches, test_batches):
        self.epoch = epoch

    def on_update(self, corrections, examples, model):
        if self.epoch == 1:
            raise self.error


@pytest.mark.parametrize("keep", [False, True])
def test_a_run_failing_with_an_error_it_would_repeat_leaves_no_file_unless_asked(tmp_path, keep):
    scenario = scenario_from_dict(network_scenario({"data.train_size": 60, "training.epochs": 3}))
    path, run = tmp_path / "r.h5", prepare(scenario)
    with pytest.raises(SimulationDiverged):
        with recording(path, scenario, keep_partial=keep) as observers:
            train_run(run, observers=[*observers, Fail(SimulationDiverged(1, 0, "update", "weights", "a hint"))])
    assert partial_path(path).exists() == keep and not path.exists()
    if keep:
        with h5py.File(partial_path(path), "r") as f:
            assert f.attrs["status"].startswith("failed: SimulationDiverged: simulation diverged at epoch 2")
            assert f.attrs["epochs_completed"] == 1 and len(f["metrics/batch/cost"]) == 3


def test_a_run_that_crashes_keeps_its_completed_epochs_and_resumes(tmp_path, references):
    scenario = scenario_from_dict(KINDS["ep"])
    path, run = tmp_path / "r.h5", prepare(scenario)
    with pytest.raises(MemoryError):
        with recording(path, scenario) as observers:
            train_run(run, observers=[*observers, Fail(MemoryError("no more"))])
    with h5py.File(partial_path(path), "r") as f:
        assert f.attrs["status"] == "failed: MemoryError: no more" and f.attrs["epochs_completed"] == 1
    _record(scenario, path, resume=True)
    assert_same_run(path, references["ep"])


# -- the command line, in a real process --------------------------------------------------

def _neurosim(*args, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from neurosim.cli import main; main()", *map(str, args)],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _wait_for_line(process: subprocess.Popen, start: str) -> None:
    for line in process.stdout:
        if line.startswith(start):
            return
    raise AssertionError(f"the run ended before printing {start!r}: {process.stderr.read()}")


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT])
def test_the_command_line_resumes_a_killed_or_interrupted_run(tmp_path, signum):
    content = network_scenario({"data.train_size": 400, "data.test_size": 100, "training.epochs": 3,
                                "dynamics.t_free": 30})
    file = write_scenario(tmp_path, content)
    whole = _neurosim("run", file, "--out", "whole.h5", "--quiet", cwd=tmp_path)
    assert whole.wait(timeout=300) == 0, whole.stderr.read()
    process = _neurosim("run", file, "--out", "r.h5", "--quiet", cwd=tmp_path)
    _wait_for_line(process, "epoch   1/3")
    process.send_signal(signum)
    _, err = process.communicate(timeout=300)
    if signum == signal.SIGINT:
        assert process.returncode == 130
        assert "continue it with: neurosim run" in err and "--resume" in err
    again = _neurosim("run", file, "--out", "r.h5", "--quiet", cwd=tmp_path)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 1 and "--resume" in err and "unfinished run" in err  # never silently truncated
    resumed = _neurosim("run", file, "--out", "r.h5", "--quiet", "--resume", cwd=tmp_path)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert "resuming" in out
    assert_same_run(tmp_path / "r.h5", tmp_path / "whole.h5")


# -- outputs are never destroyed ----------------------------------------------------------

@pytest.fixture
def quick(tmp_path) -> Path:
    return write_scenario(tmp_path, network_scenario())


def test_an_existing_run_file_is_replaced_only_with_overwrite(monkeypatch, capsys, tmp_path, quick):
    out = tmp_path / "r.h5"
    assert run_cli(monkeypatch, capsys, "run", quick, "--out", out, "--quiet")[0] == 0
    before = out.read_bytes()
    code, _, err = run_cli(monkeypatch, capsys, "run", quick, "--out", out, "--quiet")
    assert code == 1 and "--overwrite" in err and out.read_bytes() == before
    code, out_text, _ = run_cli(monkeypatch, capsys, "run", quick, "--out", out, "--quiet", "--resume")
    assert code == 0 and "already complete" in out_text and out.read_bytes() == before
    assert run_cli(monkeypatch, capsys, "run", quick, "--out", out, "--quiet", "--overwrite")[0] == 0


@pytest.mark.parametrize("target", ["scenario", "text", "directory"])
def test_a_file_that_is_not_a_run_file_is_never_replaced(monkeypatch, capsys, tmp_path, quick, target):
    out = {"scenario": quick, "text": tmp_path / "notes.h5", "directory": tmp_path / "folder"}[target]
    if target == "text":
        out.write_text("my notes")
    if target == "directory":
        out.mkdir()
    before = out.read_bytes() if out.is_file() else None
    for flag in ([], ["--overwrite"]):
        code, _, err = run_cli(monkeypatch, capsys, "run", quick, "--out", out, "--quiet", *flag)
        assert code != 0 and str(out.name) in err
        assert (out.read_bytes() if out.is_file() else None) == before
    assert not partial_path(out).exists()


def test_default_output_names_of_changed_scenarios_do_not_collide(monkeypatch, capsys, tmp_path, quick):
    monkeypatch.chdir(tmp_path)
    assert run_cli(monkeypatch, capsys, "run", quick, "--quiet")[0] == 0
    assert run_cli(monkeypatch, capsys, "run", quick, "--quiet", "--set", "seed=3")[0] == 0
    assert run_cli(monkeypatch, capsys, "run", quick, "--quiet", "--set", "seed=4")[0] == 0
    names = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(names) == 3 and "scenario.h5" in names


def test_an_unwritable_output_is_refused_before_training(monkeypatch, capsys, tmp_path, quick):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        code, out, err = run_cli(monkeypatch, capsys, "run", quick, "--out", locked / "sub" / "r.h5")
        assert code == 1 and "cannot write" in err and "epoch" not in out
    finally:
        locked.chmod(0o700)
