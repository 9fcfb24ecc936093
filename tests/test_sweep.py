"""Sweeps: grid errors, a real local Dask cluster against one-by-one runs, dying workers, resuming after a kill."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dask
import h5py
import numpy as np
import pytest

from conftest import ROOT, SCENARIOS, network_scenario, run_cli, with_changes, write_scenario
from neurosim.data.datasets import load_dataset
from neurosim.studies.grid import axes_of, expand
from neurosim.observe.recorder import recording
from neurosim.config.scenario import load_scenario
import neurosim.studies.sweep
from neurosim.studies.sweep import run_sweep
import neurosim.studies.sweep_plot
from neurosim.studies.sweep_summary import write_summary
from neurosim.training.loop import train

TINY = network_scenario(name="tiny", seed=1)


def scenario_file(directory: Path, content: dict = TINY) -> Path:
    return write_scenario(directory, content, "tiny.yaml")


def point_files(directory: Path) -> dict[str, tuple[int, int]]:
    """Inode and modification time (ns) of every complete point file."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in directory.glob("*=*.h5")}


def csv_rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def summary_without_times(directory: Path) -> list[dict]:
    with open(directory / "summary.csv") as fh:
        return [{k: v for k, v in row.items() if k != "wall_seconds"} for row in csv.DictReader(fh)]


@pytest.mark.parametrize("argument, message", [
    ("training.epochz=1,2", "--grid 'training.epochz=1,2': training.epochz: unknown key 'epochz' in training"),
    ("dynamic.beta=1", "--grid 'dynamic.beta=1': dynamic.beta: unknown key 'dynamic' in the top level"),
    ("training.epochs=", "--grid 'training.epochs=': training.epochs: an empty list of values"),
    ("training.epochs=1,two", "--grid 'training.epochs=1,two': training.epochs: value two: Input should be a valid integer"),
    ("topology.kind=layered,skip", "--grid 'topology.kind=layered,skip': topology.kind: value skip: Input should be"),
    ("topology.sizes=[784,8,10],12", "--grid 'topology.sizes=[784,8,10],12': topology.sizes: value 12: Input should be a valid list"),
    ("seed.x=1", "--grid 'seed.x=1': seed.x: 'seed' is a value, not a section"),
    ("dynamics.beta=0.5,0.5", "dynamics.beta: value 0.5 is listed twice"),
    ("dynamics.beta", "--grid 'dynamics.beta': a grid axis must read KEY.PATH=VALUE1,VALUE2"),
    ("training.learning_rate=0.2", "--grid 'training.learning_rate=0.2': training.learning_rate: swept twice"),
    ("device_overrides.synapse.read.out_noize=0,0.1",
     "device_overrides.synapse.read.out_noize: unknown key 'out_noize' in device_overrides.synapse.read"),
    ("dynamics.beta=[1,2", "--grid 'dynamics.beta=[1,2': dynamics.beta: values '[1,2' are not a comma-separated YAML list"),
])
def test_grid_errors_name_the_offending_argument(argument, message, tmp_path, monkeypatch, capsys):
    path = scenario_file(tmp_path)
    code, _, err = run_cli(monkeypatch, capsys, "sweep", path, "--grid", "training.learning_rate=0.05,0.1",
                           "--grid", argument, "--out", tmp_path / "out", "--quiet")
    assert code == 1 and message in err, err
    assert not (tmp_path / "out").exists(), "nothing written"


def test_a_grid_axis_may_be_a_device_field(tmp_path):
    path = scenario_file(tmp_path)
    base, axes = axes_of(path, ("device_overrides.synapse.read.out_noise=0,0.1",), None)
    points = expand(path, base, axes)
    assert [p.scenario.devices.synapse.read.out_noise for p in points] == [0.0, 0.1]


def test_grid_from_the_scenario_file_and_the_command_line(tmp_path):
    content = with_changes(TINY, sweep={"grid": {"dynamics.beta": [0.5, 1.0], "topology.sizes": [[784, 8, 10]]},
                                        "seeds": 3})
    path = scenario_file(tmp_path, content)
    base, axes = axes_of(path, ("dynamics.beta=0.25", "training.learning_rate=[0.1,0.2],0.05"), None)
    assert "sweep" not in base
    assert [(a.key, a.values) for a in axes] == [
        ("dynamics.beta", (0.25,)), ("topology.sizes", ([784, 8, 10],)),
        ("training.learning_rate", ([0.1, 0.2], 0.05)), ("seed", (1, 2, 3))]
    points = expand(path, base, axes)
    assert len(points) == 1 * 1 * 2 * 3 and len({p.name for p in points}) == 6
    first = points[0]
    assert first.name == "dynamics.beta=0.25_topology.sizes=784-8-10_training.learning_rate=0.1-0.2_seed=1"
    assert first.scenario.dynamics.beta == 0.25 and first.scenario.training.learning_rate == [0.1, 0.2]
    assert [p.scenario.seed for p in points[:3]] == [1, 2, 3]
    assert "sweep" not in first.scenario.to_yaml()
    with pytest.raises(Exception, match="seeds are swept twice"):
        axes_of(path, ("seed=4,5",), None)
    bad = scenario_file(tmp_path, with_changes(TINY, **{"sweep.grid": {"dynamics.beta": []}}))
    with pytest.raises(Exception, match=r"tiny.yaml: sweep.grid: .*dynamics.beta: an empty list of values"):
        axes_of(bad, (), None)


@pytest.fixture(scope="module")
def cluster_sweep(tmp_path_factory):
    """A sweep on a real local Dask cluster of 2 processes: 2 good points, 2 invalid, 2 diverging.
    Building it takes 6–8 s: the tests that use it are marked slow."""
    directory = tmp_path_factory.mktemp("cluster")
    path = scenario_file(directory)
    base, axes = axes_of(path, ("training.learning_rate=0.05,-1,1.0e+300", "dynamics.beta=0.5,1.0"), None)
    points = expand(path, base, axes)
    manifest = run_sweep(directory / "out", str(path), base, axes, points, workers=2, progress=False)
    write_summary(directory / "out")
    return path, directory / "out", manifest


@pytest.mark.slow
def test_cluster_sweep_equals_runs_done_one_by_one(cluster_sweep, tmp_path):
    path, out, manifest = cluster_sweep
    status = {e.name: e.status for e in manifest.entries.values()}
    assert sorted(status.values()) == ["complete", "complete", "failed", "failed", "invalid", "invalid"]
    for beta in (0.5, 1.0):
        name = f"training.learning_rate=0.05_dynamics.beta={beta}"
        assert status[name] == "complete"
        scenario = load_scenario(path, {"training.learning_rate": 0.05, "dynamics.beta": beta})
        alone = tmp_path / f"{beta}.h5"
        with recording(alone, scenario) as observers:
            train(scenario, load_dataset(scenario.data), observers=observers)
        with h5py.File(out / f"{name}.h5") as swept, h5py.File(alone) as direct:
            assert swept.attrs["status"] == "complete"
            assert json.loads(swept.attrs["sweep_parameters"]) == {"training.learning_rate": 0.05, "dynamics.beta": beta}
            assert swept["config"][()] == direct["config"][()]
            for key in ("metrics/epoch/train_error", "metrics/epoch/test_error", "metrics/batch/rms_correction",
                        "final/weights/0-1", "final/weights/1-2", "final/biases"):
                np.testing.assert_array_equal(swept[key][()], direct[key][()], err_msg=key)


@pytest.mark.slow
def test_invalid_and_failing_points_are_reported_with_their_error(cluster_sweep):
    _, out, manifest = cluster_sweep
    entries = manifest.entries
    invalid = entries["training.learning_rate=-1_dynamics.beta=0.5"]
    assert invalid.status == "invalid" and invalid.attempts == 0
    assert "training.learning_rate: the global learning rate must be > 0" in invalid.error
    diverged = entries["training.learning_rate=1e+300_dynamics.beta=1.0"]
    assert diverged.status == "failed" and diverged.attempts == 1, "a simulation error is not retried"
    assert "diverged at epoch 1, batch 1 (counted from 1), update phase" in diverged.error
    assert sorted(p.name for p in out.glob("*.h5")) == sorted(
        [f"training.learning_rate=0.05_dynamics.beta={b}.h5" for b in (0.5, 1.0)] + ["summary.h5"])
    on_disk = json.loads((out / "sweep.json").read_text())
    assert {p["name"]: p["status"] for p in on_disk["points"]} == {e.name: e.status for e in entries.values()}


@pytest.mark.slow
def test_summary_table_rows(cluster_sweep):
    _, out, _ = cluster_sweep
    rows = {row["point"]: row for row in csv_rows(out / "summary.csv")}
    assert len(rows) == 6
    with h5py.File(out / "summary.h5") as table:
        assert [p.decode() for p in table["point"][()]] == list(rows)
        for name, row in rows.items():
            i = list(rows).index(name)
            if row["status"] != "complete":
                assert row["test_error"] == "" and np.isnan(table["test_error"][i]) and row["error"]
                continue
            with h5py.File(out / f"{name}.h5") as run:
                assert float(row["test_error"]) == run["metrics/epoch/test_error"][-1] == table["test_error"][i]
                rms = run["metrics/batch/rms_correction"][()].mean(axis=0)
            assert float(row["rms_ratio_1-2"]) == 1.0
            assert float(row["rms_ratio_0-1"]) == pytest.approx(rms[0] / rms[1], rel=1e-12)
            assert float(row["wall_seconds"]) > 0


def test_sweep_runs_a_directed_scenario(tmp_path, monkeypatch, capsys):
    """A DEEP scenario swept over two seeds: every point completes, with the directed metrics
    in its run file, equal to the same scenario trained directly."""
    from neurosim.studies.directed_study import mse_curve

    path = SCENARIOS / "deep-and.yaml"
    out = tmp_path / "out"
    # tracing is irrelevant here
    overrides = ("--set", "training.epochs=3", "--set", "trace.enabled=false")
    code, _, err = run_cli(monkeypatch, capsys, "sweep", path, *overrides, "--grid", "seed=0,1",
                           "--workers", 1, "--out", out, "--quiet")
    assert code == 0, err
    manifest = json.loads((out / "sweep.json").read_text())
    assert {p["name"]: p["status"] for p in manifest["points"]} == {"seed=0": "complete", "seed=1": "complete"}
    for seed in (0, 1):
        with h5py.File(out / f"seed={seed}.h5") as f:
            assert f.attrs["status"] == "complete"
            assert json.loads(f.attrs["sweep_parameters"]) == {"seed": seed}
            mse = f["metrics/epoch/mse"][()]
        assert mse.shape == (3,) and np.isfinite(mse).all()
        scenario = load_scenario(path, {"seed": seed, "training.epochs": 3, "trace.enabled": False})
        np.testing.assert_array_equal(mse, mse_curve(train(scenario)))
    assert [row["status"] for row in csv_rows(out / "summary.csv")] == ["complete", "complete"]


def drawn_lines(monkeypatch, draw) -> dict[str, tuple[list, list]]:
    """Run ``draw()`` and return the lines of the sweep figure it saved: label -> (x, y)."""
    figures = []
    save = neurosim.studies.sweep_plot.save
    monkeypatch.setattr(neurosim.studies.sweep_plot, "save", lambda fig, out: figures.append(fig) or save(fig, out))
    draw()
    (figure,) = figures
    return {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in figure.axes[0].lines}


@pytest.mark.slow
def test_plot_draws_a_sweep_directory(cluster_sweep, tmp_path, monkeypatch, capsys):
    _, out, _ = cluster_sweep
    error = {}
    for b in (0.5, 1.0):
        with h5py.File(out / f"training.learning_rate=0.05_dynamics.beta={b}.h5") as run:
            error[b] = 100 * run["metrics/epoch/test_error"][-1]
    lines = drawn_lines(monkeypatch, lambda: run_cli(monkeypatch, capsys, "plot", out, "--x", "dynamics.beta",
                                                     "--out", tmp_path / "beta.png"))
    assert capsys.readouterr().err == "" and (tmp_path / "beta.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert lines == {"training.learning_rate=0.05": ([0.5, 1.0], [error[0.5], error[1.0]])}, "one line per other key"
    lines = drawn_lines(monkeypatch, lambda: run_cli(monkeypatch, capsys, "plot", out, "--kind", "sweep"))
    assert (out / "sweep.png").is_file(), "default: DIRECTORY/sweep.png"
    assert lines == {f"dynamics.beta={b}": ([0.05], [error[b]]) for b in (0.5, 1.0)}, "default x: the first key"


@pytest.mark.slow
def test_plot_refuses_what_is_not_one_sweep_directory(cluster_sweep, tmp_path, monkeypatch, capsys):
    _, out, _ = cluster_sweep
    run = out / "training.learning_rate=0.05_dynamics.beta=0.5.h5"
    (tmp_path / "empty").mkdir()
    for args, code, message in [
        ((tmp_path / "empty",), 1, f"error: {tmp_path / 'empty'}: not a sweep directory (no sweep.json)"),
        ((out, run, "--kind", "errors", "--out", tmp_path / "x.png"), 2, f"{out} is a directory: a sweep directory is drawn alone"),
        ((run, out), 2, f"{out} is a directory: a sweep directory is drawn alone"),
        ((out, out), 2, "a sweep directory is drawn alone"),
        ((run, "--kind", "sweep"), 2, f"--kind sweep draws a sweep directory; {run} is not a directory"),
        ((out, "--kind", "rates", "--out", tmp_path / "x.png"), 2, f"{out} is a directory: --kind rates draws run files"),
        ((run, "--out", tmp_path / "x.png"), 2, "give --kind"),
        ((run, "--kind", "errors", "--x", "dynamics.beta", "--out", tmp_path / "x.png"), 2, "--x and --metric apply to --kind sweep"),
        ((out, "--x", "dynamics.gamma", "--out", tmp_path / "x.png"), 1, "'dynamics.gamma' is not a swept key"),
        ((out, "--out", tmp_path / "x.jpg"), 1, "output must end in .png or .pdf"),
    ]:
        result, _, err = run_cli(monkeypatch, capsys, "plot", *args)
        assert result == code and message in err, (args, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"], "nothing written"


@pytest.mark.slow
def test_summary_energy_columns_come_from_the_ledger(cluster_sweep, tmp_path):
    _, out, _ = cluster_sweep
    copy = shutil.copytree(out, tmp_path / "out")
    without_ledger = "training.learning_rate=0.05_dynamics.beta=0.5"
    with h5py.File(copy / f"{without_ledger}.h5", "r+") as f:  # as a run file written before the ledger
        del f["ledger"]
    write_summary(copy)
    rows = {row["point"]: row for row in csv_rows(copy / "summary.csv")}
    assert list(rows[without_ledger])[-4:] == ["energy_total_pJ", "energy_per_example_pJ", "wall_seconds", "error"]
    with h5py.File(copy / "summary.h5") as table:
        for i, (name, row) in enumerate(rows.items()):
            if name == without_ledger or row["status"] != "complete":
                assert row["energy_total_pJ"] == row["energy_per_example_pJ"] == ""
                assert np.isnan(table["energy_total_pJ"][i]) and np.isnan(table["energy_per_example_pJ"][i])
                continue
            with h5py.File(copy / f"{name}.h5") as f:
                attrs = f["ledger"].attrs
                assert float(row["energy_total_pJ"]) == table["energy_total_pJ"][i] == attrs["energy_total_pJ"] > 0
                assert (float(row["energy_per_example_pJ"]) == table["energy_per_example_pJ"][i]
                        == attrs["energy_per_example_pJ"])


@pytest.mark.slow
def test_a_point_whose_worker_dies_is_retried_then_reported(tmp_path, monkeypatch, capsys):
    """beta=0.5 kills its worker process every time it starts, beta=0.75 the first time; beta=1.0 runs normally.

    With ``allowed-failures`` 1 Dask's scheduler reruns a task once after its worker died, then the
    client sees KilledWorker and retries (``retries`` 2): the point starts at most 2 × 3 times.
    """
    path = scenario_file(tmp_path)
    starts = tmp_path / "starts"
    starts.mkdir()

    def dying(name, scenario_yaml, *data):  # pickled by value: runs in the worker process
        import importlib
        import os
        import time

        (starts / f"{name}@{time.time_ns()}").touch()
        if name == "dynamics.beta=0.5" or (name == "dynamics.beta=0.75" and len(list(starts.glob(f"{name}@*"))) == 1):
            os._exit(3)
        return importlib.import_module("neurosim.studies.sweep").point_task(name, scenario_yaml, *data)  # the worker's own

    monkeypatch.setattr(neurosim.studies.sweep, "point_task", dying)
    base, axes = axes_of(path, ("dynamics.beta=0.5,0.75,1.0",), None)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        manifest = run_sweep(tmp_path / "out", str(path), base, axes, expand(path, base, axes), workers=2, retries=2)
    entries = manifest.entries
    dead = entries["dynamics.beta=0.5"]
    assert dead.status == "failed" and dead.attempts == 3, "one client attempt, then two retries"
    assert dead.error.startswith("KilledWorker: the worker process died while running it (last on tcp://")
    assert 3 < len(list(starts.glob("dynamics.beta=0.5@*"))) <= 6, "reran by the scheduler, within the bound"
    assert entries["dynamics.beta=0.75"].status == "complete" and entries["dynamics.beta=0.75"].error is None
    assert entries["dynamics.beta=1.0"].status == "complete"
    for beta in (0.75, 1.0):
        with h5py.File(tmp_path / "out" / f"dynamics.beta={beta}.h5") as f:
            assert f.attrs["status"] == "complete"
    on_disk = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert [p["status"] for p in on_disk["points"]] == ["failed", "complete", "complete"]
    bar = capsys.readouterr().err.split("\r")[-1]
    assert "3/3" in bar and "complete 2, running 0, failed 1" in bar, bar
    assert re.search(r"\[\d\d:\d\d<\d\d:\d\d", bar), f"elapsed<ETA: {bar}"


GRID = ("--grid", "dynamics.beta=0.5,0.75,1.0", "--seeds", "4")
"""12 points of the sweep that the interruption tests stop midway."""


def sweep_until_first_point(tmp_path: Path) -> tuple[Path, Path, subprocess.Popen]:
    """Start a 12-point sweep in its own process group and return (scenario, out, child) as
    soon as its first point file exists."""
    heavier = with_changes(TINY, data={"train_size": 200, "test_size": 100}, dynamics={"t_free": 30, "t_clamped": 4})
    path = scenario_file(tmp_path, heavier)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "neurosim.cli", "sweep", str(path), *GRID, "--workers", "2",
               "--out", str(out), "--quiet"]
    child = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             cwd=ROOT, text=True)
    deadline = time.monotonic() + 60
    while not point_files(out) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    return path, out, child


@pytest.mark.slow
def test_killed_sweep_resumes_without_recomputing(tmp_path, monkeypatch, capsys):
    path, out, child = sweep_until_first_point(tmp_path)
    os.killpg(child.pid, signal.SIGKILL)  # the client and its worker processes, mid-sweep
    child.communicate()
    survivors = point_files(out)
    assert 0 < len(survivors) < 12, f"kill landed after {len(survivors)} of 12 points"

    code, _, err = run_cli(monkeypatch, capsys, "sweep", path, *GRID, "--workers", 2, "--out", out, "--quiet")
    assert code == 0, err
    after = point_files(out)
    assert len(after) == 12 and not list(out.glob("*.partial"))
    assert {name: after[name] for name in survivors} == survivors, "completed points were not rewritten"

    reference = tmp_path / "uninterrupted"
    code, _, err = run_cli(monkeypatch, capsys, "sweep", path, *GRID, "--workers", 2, "--out", reference, "--quiet")
    assert code == 0, err
    assert summary_without_times(out) == summary_without_times(reference)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_keeping_every_completed_point(tmp_path, monkeypatch, capsys):
    path, out, child = sweep_until_first_point(tmp_path)
    os.killpg(child.pid, signal.SIGINT)  # what Ctrl-C sends: the client and its workers
    try:
        _, err = child.communicate(timeout=60)
    finally:  # a client that hangs must not outlive the test
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
    assert child.returncode == 130 and "interrupted" in err, err
    manifest = json.loads((out / "sweep.json").read_text())
    statuses = {p["name"]: p["status"] for p in manifest["points"]}
    kept = point_files(out)
    assert 0 < len(kept) < 12, f"Ctrl-C landed after {len(kept)} of 12 points"
    assert {f"{name}.h5" for name, s in statuses.items() if s == "complete"} == set(kept)
    assert set(statuses.values()) <= {"complete", "interrupted", "pending"}
    unfinished = {p.name.removesuffix(".h5.partial") for p in out.glob("*.partial")}
    assert not unfinished & {name for name, s in statuses.items() if s == "complete"}, \
        "a complete point left a partial file"

    code, _, err = run_cli(monkeypatch, capsys, "sweep", path, *GRID, "--workers", 2, "--out", out, "--quiet")
    assert code == 0, err
    after = point_files(out)
    assert len(after) == 12 and {name: after[name] for name in kept} == kept


@pytest.mark.slow
def test_a_killed_sweep_continues_its_unfinished_point_into_the_file_neurosim_run_writes(tmp_path, monkeypatch,
                                                                                          capsys):
    """A point's epochs reach the sweep directory as they complete; a killed sweep continues
    the point from its last epoch, and the point equals ``neurosim run`` of the same
    resolved scenario, bit for bit (both run training.threads BLAS threads)."""
    from test_resume import assert_same_run

    content = with_changes(TINY, data={"train_size": 400, "test_size": 100}, topology={"sizes": [784, 100, 10]},
                           dynamics={"t_free": 30, "t_clamped": 4}, training={"epochs": 4})
    path = scenario_file(tmp_path, content)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "neurosim.cli", "sweep", str(path), "--grid", "seed=7", "--workers", "1",
               "--out", str(out), "--quiet"]
    child = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(out.glob("*.h5.partial")) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    os.killpg(child.pid, signal.SIGKILL)
    child.communicate()
    (partial,) = out.glob("*.h5.partial")
    with h5py.File(partial, "r") as f:
        assert 1 <= f.attrs["epochs_completed"] < 4

    code, _, err = run_cli(monkeypatch, capsys, "sweep", path, "--grid", "seed=7", "--workers", "1", "--out", out,
                           "--quiet")
    assert code == 0, err
    assert not list(out.glob("*.partial"))
    alone = tmp_path / "alone.h5"
    assert run_cli(monkeypatch, capsys, "run", path, "--set", "seed=7", "--out", alone, "--quiet")[0] == 0
    swept = tmp_path / "swept.h5"
    with h5py.File(out / "seed=7.h5") as source, h5py.File(swept, "w") as copy:  # the sweep's own attributes aside
        copy.attrs.update({k: v for k, v in source.attrs.items() if not k.startswith(("sweep_", "wall", "worker"))})
        for name in source:
            source.copy(source[name], copy, name)
    assert_same_run(swept, alone)
