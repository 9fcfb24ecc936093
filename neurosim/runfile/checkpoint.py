"""The checkpoint in a run file: everything needed to continue a run from its last completed epoch.

After every completed epoch the recorder stores the run's whole mutable state under
``/checkpoint``: device arrays (weights, biases, live masks), persistent particles, the
state of every random generator (data order, β signs, stochastic rounding, pruning), the
ledger's counts, the epoch records, and the number of rows each appendable dataset of the
file had then. Resuming restores that state and cuts every appendable dataset back to
its recorded length, so rows written during an unfinished epoch disappear and the
continued run appends exactly what an uninterrupted run would have.

Two slots, ``/checkpoint/a`` and ``/checkpoint/b``, take turns: an epoch's checkpoint is
written into the slot *not* named by ``/checkpoint``'s ``latest`` attribute, flushed, and
only then does ``latest`` point at it. A process killed while writing leaves the previous
checkpoint intact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import h5py
import numpy as np

GROUP = "checkpoint"
SLOTS = ("a", "b")


@dataclass
class Checkpoint:
    """A run's state after ``epochs_completed`` epochs."""

    epochs_completed: int
    arrays: dict[str, np.ndarray]
    """Named arrays (``synapses/weights/0-1``, ``particles/train``, ...); restored in place."""
    generators: dict[str, dict]
    """``numpy.random.Generator.bit_generator.state`` of every named random stream."""
    lengths: dict[str, int]
    """Rows of every appendable dataset of the file (by path) when the checkpoint was taken."""


def appendable_lengths(file: h5py.File) -> dict[str, int]:
    """Rows of every resizable (appendable) dataset outside ``/checkpoint`` (which is not visited)."""
    lengths = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.maxshape and obj.maxshape[0] is None:
            lengths[name] = obj.shape[0]

    for top in file:
        if top != GROUP:
            visit(top, file[top])
            if isinstance(file[top], h5py.Group):
                file[top].visititems(lambda name, obj, top=top: visit(f"{top}/{name}", obj))
    return lengths


def write(file: h5py.File, checkpoint: Checkpoint) -> None:
    """Store ``checkpoint`` in the free slot, flush, then make it the latest."""
    group = file.require_group(GROUP)
    group.attrs["description"] = ("the run's state after its last completed epoch, from which --resume continues; "
                                  "two slots written in turn, `latest` names the valid one")
    slot_name = SLOTS[1] if group.attrs.get("latest") == SLOTS[0] else SLOTS[0]
    slot = group.require_group(slot_name)
    for name, array in checkpoint.arrays.items():
        array = np.asarray(array)
        if name in slot and slot[name].shape == array.shape and slot[name].dtype == array.dtype:
            slot[name][...] = array
        else:
            if name in slot:
                del slot[name]
            ds = slot.create_dataset(name, data=array)
            ds.attrs["description"] = f"checkpointed state: {name}"
    held = set(json.loads(slot.attrs["names"])) if "names" in slot.attrs else _datasets(slot)
    for name in held - set(checkpoint.arrays):
        del slot[name]
    slot.attrs["names"] = json.dumps(sorted(checkpoint.arrays))
    slot.attrs["epochs_completed"] = checkpoint.epochs_completed
    slot.attrs["generators"] = json.dumps(checkpoint.generators)
    slot.attrs["lengths"] = json.dumps(checkpoint.lengths)
    file.flush()
    group.attrs["latest"] = slot_name
    file.flush()


def read(file: h5py.File) -> Checkpoint | None:
    """The latest checkpoint of a run file; None when no epoch has completed."""
    group = file.get(GROUP)
    if group is None or "latest" not in group.attrs:
        return None
    slot = group[group.attrs["latest"]]
    arrays = {name: slot[name][()] for name in _datasets(slot)}
    return Checkpoint(int(slot.attrs["epochs_completed"]), arrays, json.loads(slot.attrs["generators"]),
                      json.loads(slot.attrs["lengths"]))


def rewind(file: h5py.File, lengths: dict[str, int]) -> None:
    """Cut every appendable dataset back to its length in ``lengths``; delete the ones
    created after it (an unfinished epoch's rows disappear)."""
    for name, rows in appendable_lengths(file).items():
        if name not in lengths:
            del file[name]
        elif rows != lengths[name]:
            file[name].resize(lengths[name], axis=0)


def _datasets(group: h5py.Group) -> set[str]:
    names = set()
    group.visititems(lambda name, obj: names.add(name) if isinstance(obj, h5py.Dataset) else None)
    return names
