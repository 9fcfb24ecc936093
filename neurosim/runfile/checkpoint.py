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

from neurosim.runfile.h5io import write_all

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


DESCRIPTION = ("the run's state after its last completed epoch, from which --resume continues; "
               "two slots written in turn, `latest` names the valid one")


def write(file: h5py.File, checkpoint: Checkpoint) -> None:
    """Store ``checkpoint`` in the free slot, flush, then make it the latest (a one-off
    :class:`Writer`; a run writing a checkpoint after every epoch keeps one)."""
    Writer(file).write(checkpoint)


SAME_BYTES = 8192
"""Arrays up to this size are compared with the slot's copy before being written."""


class Writer:
    """Writes the checkpoints of one open file, keeping the handles, shapes and dtypes of
    both slots' datasets between epochs.

    An array keeping its shape is overwritten in place; one whose first dimension changed
    (the per-epoch records, one row longer each epoch) is resized in place, its dataset
    re-created once as a chunked one that can grow; any other change re-creates the
    dataset. A small array (``SAME_BYTES`` or less: counters, random-stream positions)
    equal to what this writer last wrote into the slot is not written again. A dataset's
    description is written when it is created, never again.
    """

    def __init__(self, file: h5py.File):
        self.file = file
        self.group = file.require_group(GROUP)
        if self.group.attrs.get("description") != DESCRIPTION:
            self.group.attrs["description"] = DESCRIPTION
        self.latest = self.group.attrs.get("latest")
        self.slots: dict[str, tuple[h5py.Group, dict[str, list]]] = {}
        """Slot name -> (group, {array name: [dataset, shape, dtype, copy written (small arrays)]})."""

    def _slot(self, name: str) -> tuple[h5py.Group, dict[str, list]]:
        if name not in self.slots:
            slot = self.group.require_group(name)
            held = json.loads(slot.attrs["names"]) if "names" in slot.attrs else sorted(_datasets(slot))
            entries = {}
            for array in held:
                ds = slot[array]
                entries[array] = [ds, ds.shape, ds.dtype, None]
            self.slots[name] = (slot, entries)
        return self.slots[name]

    def write(self, checkpoint: Checkpoint, root_attrs: dict | None = None) -> None:
        """Store ``checkpoint`` in the free slot, flush, then make it the latest, setting
        ``root_attrs`` on the file's root with it (one flush for both)."""
        slot_name = SLOTS[1] if self.latest == SLOTS[0] else SLOTS[0]
        slot, entries = self._slot(slot_name)
        for name, array in checkpoint.arrays.items():
            array = np.asarray(array)
            entry = entries.get(name)
            if entry is not None and entry[2] == array.dtype and entry[1] != array.shape and array.ndim \
                    and len(entry[1]) == array.ndim and entry[1][1:] == array.shape[1:] \
                    and entry[0].maxshape[0] is None:
                entry[0].id.set_extent(array.shape)
                entry[1] = array.shape
            if entry is not None and entry[1] == array.shape and entry[2] == array.dtype:
                small = array.nbytes <= SAME_BYTES
                if small and entry[3] is not None and np.array_equal(entry[3], array):
                    continue
                if array.size:
                    write_all(entry[0], array)
                entry[3] = array.copy() if small else None
                continue
            grows = entry is not None and array.ndim > 0 and len(entry[1]) == array.ndim \
                and entry[1][1:] == array.shape[1:]
            if entry is not None:
                del slot[name]
            if grows:  # a per-epoch record: from now on resized in place
                row = max(1, int(np.prod(array.shape[1:], dtype=np.int64)) * array.dtype.itemsize)
                ds = slot.create_dataset(name, data=array, maxshape=(None, *array.shape[1:]),
                                         chunks=(max(1, min(1024, (64 << 10) // row)), *array.shape[1:]))
            else:
                ds = slot.create_dataset(name, data=array)
            ds.attrs["description"] = f"checkpointed state: {name}"
            entries[name] = [ds, array.shape, array.dtype, array.copy() if array.nbytes <= SAME_BYTES else None]
        for name in set(entries) - set(checkpoint.arrays):
            del slot[name]
            del entries[name]
        names = json.dumps(sorted(checkpoint.arrays))
        if slot.attrs.get("names") != names:
            slot.attrs["names"] = names
        slot.attrs["epochs_completed"] = checkpoint.epochs_completed
        slot.attrs["generators"] = json.dumps(checkpoint.generators)
        slot.attrs["lengths"] = json.dumps(checkpoint.lengths)
        self.file.flush()
        self.group.attrs["latest"] = slot_name
        self.latest = slot_name
        for key, value in (root_attrs or {}).items():
            self.file.attrs[key] = value
        self.file.flush()


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
