"""The cheap per-epoch recording keeps every guarantee of the checkpoint (issue: recording
cost of many short epochs).

The recorder now keeps the file's dataset handles between epochs, counts the rows of
every appendable dataset itself instead of walking the file, grows the checkpoint's
per-epoch records in place and overwrites the ledger in place. Were any count wrong, a
dataset missed, or a slot left half-updated, a run resumed from a file left at some
epoch boundary would differ from the uninterrupted run; so a short DEEP run (pruning,
every random stream, traces at every cadence) is "killed" at every epoch boundary and
in the middle of every epoch's checkpoint, and each state is resumed and compared.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import directed_scenario
from neurosim.config.scenario import scenario_from_dict
from neurosim.observe import recorder as recorder_module
from neurosim.observe.observer import Observer
from neurosim.runfile import checkpoint
from neurosim.runfile.layout import partial_path
from neurosim.training.loop import prepare, train_run
from test_resume import _record, assert_same_run

EPOCHS = 5
SCENARIO = directed_scenario({"directed.sparsity": True, "directed.sparsity_start": 2, "directed.threshold": 0.3,
                              "directed.temperature": 0.2, "training.epochs": EPOCHS},
                             trace={"enabled": True, "records": [
                                 {"banks": ["state", "memory"], "cadence": "phase_end"},
                                 {"banks": ["state"], "cadence": "step", "batches": [0], "epochs": [1, 3]},
                                 {"banks": ["weights"], "cadence": "epoch"},
                                 {"banks": ["delta_w"], "cadence": "update"}]})


class Snapshot(Observer):
    """After each epoch (the recorder has written its checkpoint) copies the partial file,
    what a ``kill -9`` at that moment would leave, and checks the recorder's row counts
    against a walk of the file."""

    def __init__(self, recorder, directory: Path):
        self.recorder, self.directory, self.copies, self.mismatches = recorder, directory, [], []

    def on_epoch_end(self, record) -> None:
        file = self.recorder.file
        walked = checkpoint.appendable_lengths(file)
        if walked != self.recorder.appendables.lengths():
            self.mismatches.append((record.epoch, walked, self.recorder.appendables.lengths()))
        copy = self.directory / f"boundary-{record.epoch}.h5"
        shutil.copyfile(file.filename, copy)
        self.copies.append((record.epoch + 1, copy))


def _records(run) -> list[tuple]:
    """A run's epoch records (what the checkpoint's ``epochs/*`` restores, as floats), wall-clock times aside."""
    return [(r.epoch, r.train_error, r.test_error, r.cost, r.test_cost, repr(sorted((k, float(v)) for k, v in r.extra.items())))
            for r in run.epochs]


def _resume(scenario, path: Path):
    """Continue the partial file of ``path``; the run (its epoch records include the restored ones)."""
    run = prepare(scenario)
    with recorder_module.recording(path, scenario, resume=True) as observers:
        observers.restore(run)
        train_run(run, epochs=scenario.training.epochs - observers.epochs_completed, observers=observers)
    return run


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("reference") / "run.h5"
    _record(scenario_from_dict(SCENARIO), path)
    return path


def test_a_run_killed_at_any_epoch_boundary_or_checkpoint_resumes_identically(tmp_path, reference, monkeypatch):
    scenario = scenario_from_dict(SCENARIO)
    mid = []  # the file as a kill inside the checkpoint's writing leaves it: this epoch's rows, the last checkpoint
    write = checkpoint.Writer.write

    def copying_write(self, state, *args, **kwargs):
        self.file.flush()
        copy = tmp_path / f"mid-{state.epochs_completed}.h5"
        shutil.copyfile(self.file.filename, copy)
        mid.append((state.epochs_completed - 1, copy))
        write(self, state, *args, **kwargs)

    monkeypatch.setattr(checkpoint.Writer, "write", copying_write)
    snapshots = []
    original = recorder_module.recording

    def recording(*args, **kwargs):  # add the snapshot observer behind the recorder
        context = original(*args, **kwargs)
        observers = context.__enter__()
        snapshots.append(Snapshot(observers.recorder, tmp_path))
        observers.append(snapshots[-1])

        class Wrapped:
            def __enter__(self):
                return observers

            def __exit__(self, *exc):
                return context.__exit__(*exc)

        return Wrapped()

    monkeypatch.setattr(recorder_module, "recording", recording)
    path = tmp_path / "whole.h5"
    whole = _resume(scenario, path)  # no partial file: a new run
    monkeypatch.undo()
    assert_same_run(path, reference)  # recording with the snapshots changed nothing
    (snapshot,) = snapshots
    assert not snapshot.mismatches
    assert [done for done, _ in snapshot.copies] == list(range(1, EPOCHS + 1))
    assert [done for done, _ in mid] == list(range(EPOCHS))

    for done, copy in [*snapshot.copies, *mid]:
        resumed = tmp_path / f"resumed-{copy.stem}.h5"
        shutil.copyfile(copy, partial_path(resumed))
        run = _resume(scenario, resumed)
        assert_same_run(resumed, reference)
        assert _records(run) == _records(whole), copy.name


def test_a_sweep_worker_sends_its_first_epoch_then_at_most_every_interval(monkeypatch, tmp_path):
    import distributed

    from neurosim.studies import sweep

    sent = []

    class Queue:
        def __init__(self, name):
            self.name = name

        def put(self, item):
            sent.append((self.name, *item))

    clock = iter([0.0, 0.0, 1.0, 4.9, 5.0, 5.0, 5.1, 20.0, 20.0, 21.0])
    monkeypatch.setattr(distributed, "Queue", Queue)
    monkeypatch.setattr(sweep.time, "monotonic", lambda: next(clock))
    partial = tmp_path / "p.h5.partial"
    ship = sweep.ShipCheckpoints("q", "point", partial, epochs=7, interval=5.0)

    class Record:
        def __init__(self, epoch):
            self.epoch = epoch

    shipped = []
    for epoch in range(7):
        partial.write_bytes(f"after epoch {epoch}".encode())
        before = len(sent)
        ship.on_epoch_end(Record(epoch))
        if len(sent) > before:
            shipped.append(epoch)
    # epoch 0 always (t=0); 1 at t=1 and 2 at 4.9 too early; 3 at 5.0; 4 at 5.1 too early; 5 at 20; 6 is the last
    assert shipped == [0, 3, 5]
    assert [item for _, _, item in sent] == [b"after epoch 0", b"after epoch 3", b"after epoch 5"]
    assert {(queue, name) for queue, name, _ in sent} == {("q", "point")}
