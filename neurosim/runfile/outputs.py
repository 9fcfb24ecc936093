"""Output paths that never destroy anything: what may be written where, decided before any work.

A run writes ``RUN.h5.partial`` and renames it to ``RUN.h5`` when it completes. Before a
run starts, :func:`claim` looks at both paths and refuses, with a message naming the way
out, every case where the run would destroy something the user has not asked to lose:

* a file that is not a neurosim run file (a scenario, a device file, a text file) is
  never replaced, whatever the options;
* an output equal to one of the run's inputs is always refused;
* a complete run file is replaced only with ``overwrite`` (and only once the new run
  completes, since it is written under the partial name);
* an unfinished run (a partial file) is continued with ``resume`` or discarded with
  ``overwrite``, never silently truncated.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import h5py

from neurosim.errors import NeurosimError
from neurosim.runfile.layout import partial_path


class OutputError(NeurosimError):
    """An output path the run may not write."""


@dataclass(frozen=True)
class RunFileInfo:
    """What an existing run file holds, read from its root attributes."""

    status: str
    epochs_completed: int
    digest: str


def inspect(path: Path) -> RunFileInfo | None:
    """The run file at ``path``, or None when it is not a readable neurosim run file."""
    try:
        with h5py.File(path, "r") as f:
            if "config" not in f or "neurosim_version" not in f.attrs:
                return None
            return RunFileInfo(str(f.attrs.get("status", "")), int(f.attrs.get("epochs_completed", 0)),
                               str(f["config"].attrs.get("sha256", "")))
    except (OSError, KeyError, ValueError):
        return None


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_writable(path: Path, option: str = "--out") -> None:
    """Refuse a path whose directory cannot be created or written."""
    directory = path.parent
    existing = next((p for p in (directory, *directory.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise OutputError(f"{option} {path}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {path}: cannot write in {existing} (permission denied)")


def claim(path: Path, digest: str, *, inputs: tuple[Path, ...] = (), resume: bool = False,
          overwrite: bool = False, option: str = "--out") -> str:
    """Check that a run of the scenario with ``digest`` may write ``path``; returns what it
    will do: ``new``, ``resume`` (a partial file to continue) or ``complete`` (``resume``
    given and ``path`` already holds this run, complete: nothing to do)."""
    partial = partial_path(path)
    for given in inputs:
        if path.resolve() == given.resolve() or partial.resolve() == given.resolve() or _same(path, given):
            raise OutputError(f"{option} {path}: is an input of this run ({given}); choose another output")
    check_writable(path, option)
    if path.is_dir():
        raise OutputError(f"{option} {path}: is a directory; give a file name, e.g. {path / 'run.h5'}")
    done = inspect(path) if path.exists() else None
    if path.exists() and done is None:
        raise OutputError(f"{option} {path}: exists and is not a neurosim run file; refusing to replace it "
                          "(choose another output)")
    unfinished = inspect(partial) if partial.exists() else None
    if partial.exists() and unfinished is None:
        raise OutputError(f"{partial}: exists and is not a neurosim run file; refusing to replace it "
                          "(move it away or choose another output)")
    if resume and unfinished is None and done is not None and done.digest == digest and done.status == "complete":
        return "complete"
    if done is not None and not overwrite:
        raise OutputError(f"{option} {path}: already holds a {done.status} run ({done.epochs_completed} epoch(s)); "
                          "give --overwrite to replace it once the new run completes, or choose another output")
    if unfinished is not None:
        if resume:
            return "resume"
        if not overwrite:
            raise OutputError(f"{partial}: holds an unfinished run ({unfinished.epochs_completed} completed "
                              f"epoch(s), status {unfinished.status}); give --resume to continue it, or "
                              "--overwrite to start again")
    return "new"
