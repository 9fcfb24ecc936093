"""Running a sweep's points on a Dask cluster: resumable, retried, and never losing a completed run.

Every point is one ordinary run (:func:`neurosim.training.loop.train` recorded by
:func:`~neurosim.observe.recorder.recording`), of any scenario kind. The engine is ``dask.distributed``: by default a
local cluster of worker processes (one per core, one thread each), or an existing cluster
named by its scheduler address.

Where the files are written. A worker receives the point's *resolved* scenario (YAML text)
and its data set, so it needs no file that exists only on the client. It records the run
into its own temporary directory and *returns the file's bytes*; the client writes every
file of the sweep directory. So workers need no shared filesystem, a task that the
scheduler runs twice (a worker presumed dead but still running) can never have two
writers on one file, and the manifest and the files always agree. The price is one run
file (a few MB: final weights and metrics) over the network per point, small beside
minutes of simulation.

How the data sets travel. The client loads each distinct ``data`` section once and
registers them as a Dask worker plugin (:class:`SweepData`): the scheduler keeps one copy
and installs it on every worker, also on one that joins or restarts later. A point's task
therefore depends on no other task, and no worker's death can lose the data (scattered
data dies with its worker and cancels every point waiting for it).

One point per worker thread. The client keeps no more points in flight than the cluster
has worker threads, so that a worker is seldom assigned a point it cannot start at once:
Dask counts a task as killed by every worker that dies while the task is assigned there,
started or not, so a point queued behind a crashing one shares its blame.

Loss-free. After its first epoch, and then after an epoch at most every ``SHIP_SECONDS``
(every epoch where epochs are longer), a worker puts its partial run file (with the
epoch's checkpoint) on a Dask queue, and the client keeps the newest as ``NAME.h5.partial``. When
a point finishes, the client writes ``NAME.h5.writing``, adds the point's sweep
attributes, flushes it to disk and renames it ``NAME.h5``: a file with the final name is
complete (its ``status`` attribute says ``complete`` and its ``/config`` hash matches the
point). Re-running the same sweep skips those points without opening them for writing,
continues every point that left a partial file from its last completed epoch (the worker
receives the file with the task; the result is bit-identical to an uninterrupted run),
and runs the others. The manifest ``sweep.json`` is rewritten (atomically) after every point.
A point that raises a neurosim error (a diverging simulation, a layer size that does not
fit the data) fails at once: running it again would fail again. Any other failure (an
exception from a bug, a worker process that dies) is retried ``retries`` times, then
reported. Retrying after a dying worker happens at two levels: the Dask scheduler reruns a
task whose worker died up to ``distributed.scheduler.allowed-failures`` times (default 3;
this also reruns an innocent point assigned to that worker), then the client sees
``KilledWorker`` and counts one attempt. A point that always kills its worker thus runs at
most (allowed-failures + 1) × (retries + 1) times. Ctrl-C cancels the points in flight and
keeps every completed one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import tempfile
import threading
import time
from concurrent.futures import CancelledError
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import h5py
from distributed.diagnostics.plugin import WorkerPlugin
from tqdm import tqdm

from neurosim.config.base import parse_yaml
from neurosim.data.datasets import Dataset
from neurosim.errors import ConfigError, NeurosimError
from neurosim.studies.grid import Axis, Point
from neurosim.observe.recorder import recording
from neurosim.config.scenario import scenario_from_dict
from neurosim.observe.observer import Observer
from neurosim.runfile.layout import partial_path
from neurosim.runfile.outputs import inspect
from neurosim.training.loop import prepare, train_run
from neurosim.training.setup import is_directed, load_data

MANIFEST = "sweep.json"


class SweepError(NeurosimError):
    """A sweep that cannot start (unreachable scheduler, a directory holding other runs)."""


@dataclass
class PointResult:
    """What a worker sends back: the run file's bytes, or the neurosim error that stopped the run."""

    data: bytes | None
    error: str | None
    wall_seconds: float
    worker: str


SHIP_SECONDS = 5.0
"""Least time between two partial files a worker sends the client (see :class:`ShipCheckpoints`)."""


class ShipCheckpoints(Observer):
    """After a completed epoch (the recorder has written its checkpoint), put the partial run
    file's bytes on the Dask queue ``queue`` for the client to keep as ``NAME.h5.partial``:
    after the first completed epoch of the task, then after the first epoch that completes
    ``interval`` seconds or more after the last one sent; never after the last epoch, whose
    result (the complete file) follows at once.

    The trade-off: sending the whole file costs tens of milliseconds (read it, pass it
    through the scheduler, the client writes it), nothing beside an epoch of minutes, but
    many times an epoch of a few milliseconds (a DEEP task of four examples). Where epochs
    take ``interval`` or longer, which is where losing one would matter, every epoch is
    sent as before; where they are shorter, a worker that dies, or a sweep killed,
    loses at most the epochs of the last ``interval`` seconds (plus the one in progress),
    never more. The file the worker writes still holds a checkpoint of every epoch, and a
    point that finishes returns its complete file."""

    def __init__(self, queue: str, name: str, partial: Path, epochs: int, interval: float = SHIP_SECONDS):
        self.queue, self.name, self.partial, self.epochs = queue, name, partial, epochs
        self.interval = interval
        self.sent: float | None = None
        """``time.monotonic()`` when the last file was sent (None: none yet)."""

    def on_epoch_end(self, record) -> None:
        from distributed import Queue

        if record.epoch + 1 >= self.epochs:
            return
        now = time.monotonic()
        if self.sent is None or now - self.sent >= self.interval:
            Queue(self.queue).put((self.name, self.partial.read_bytes()))
            self.sent = time.monotonic()


def run_point(name: str, scenario_yaml: str, dataset: Dataset, partial: bytes | None = None,
              queue: str | None = None) -> PointResult:
    """Run one point on a worker and return its run file's bytes (executed by Dask).

    ``partial``: the unfinished run file of an earlier attempt, continued from its last
    checkpoint. ``queue``: the Dask queue to send the partial file to after completed epochs
    (:class:`ShipCheckpoints`).
    """
    scenario = scenario_from_dict(parse_yaml(scenario_yaml))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="neurosim-point-") as scratch:
        path = Path(scratch) / f"{name}.h5"
        if partial is not None:
            partial_path(path).write_bytes(partial)
        try:
            run = prepare(scenario, dataset)
            with recording(path, scenario, resume=partial is not None) as observers:
                observers.restore(run)
                ship = [ShipCheckpoints(queue, name, partial_path(path), scenario.training.epochs)] if queue else []
                train_run(run, epochs=scenario.training.epochs - observers.epochs_completed,
                          observers=[*observers, *ship])
        except NeurosimError as exc:
            return PointResult(None, str(exc), time.perf_counter() - started, socket.gethostname())
        return PointResult(path.read_bytes(), None, time.perf_counter() - started, socket.gethostname())


class SweepData(WorkerPlugin):
    """The data sets of one sweep, keyed by their ``data`` section (JSON), installed on every worker."""

    def __init__(self, datasets: dict[str, Dataset]):
        self.datasets = datasets


def point_task(name: str, scenario_yaml: str, plugin: str, key: str, partial: bytes | None,
               queue: str) -> PointResult:
    """The Dask task of one point: :func:`run_point` on the data set the worker holds in plugin ``plugin``."""
    from distributed import get_worker

    return run_point(name, scenario_yaml, get_worker().plugins[plugin].datasets[key], partial, queue)


@dataclass
class Entry:
    """The manifest's record of one point."""

    name: str
    params: dict[str, Any]
    status: str = "pending"
    """``pending``, ``complete``, ``failed``, ``invalid`` (its scenario is not valid) or ``interrupted``."""
    error: str | None = None
    retryable: bool = False
    """The failure was a crash (a worker died, an unexpected exception), which running the
    point again may not repeat; a simulation or configuration error would repeat."""
    attempts: int = 0
    wall_seconds: float | None = None
    worker: str | None = None

    @property
    def file(self) -> str:
        return f"{self.name}.h5"


class Manifest:
    """``sweep.json``: the sweep's scenario, grid and every point's status; written atomically."""

    def __init__(self, directory: Path, scenario_file: str, base: dict, axes: list[Axis], entries: list[Entry]):
        self.path = directory / MANIFEST
        self.scenario_file, self.base, self.axes = scenario_file, base, axes
        self.entries = {entry.name: entry for entry in entries}

    def save(self) -> None:
        content = {
            "scenario_file": self.scenario_file,
            "base_scenario": self.base,
            "grid": {axis.key: list(axis.values) for axis in self.axes},
            "points": [{**vars(e), "file": e.file} for e in self.entries.values()],
        }
        temporary = self.path.with_name(self.path.name + ".partial")
        temporary.write_text(json.dumps(content, indent=1))
        os.replace(temporary, self.path)


def read_manifest(directory: str | Path) -> dict:
    """The manifest of a sweep directory as a mapping (see :class:`Manifest`)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise SweepError(f"{directory}: not a sweep directory (no {MANIFEST})")
    return json.loads(path.read_text())


def is_complete(path: Path, digest: str) -> bool:
    """Whether ``path`` is a complete run of the scenario with this digest.

    A file of that name holding anything else is refused rather than overwritten.
    """
    if not path.exists():
        return False
    try:
        with h5py.File(path, "r") as f:
            status, found = f.attrs.get("status"), f["config"].attrs.get("sha256")
    except (OSError, KeyError):
        status = found = None
    if status == "complete" and found == digest:
        return True
    raise SweepError(f"{path}: holds a different run ({'scenario ' + str(found)[:12] if found else 'unreadable'}, "
                     f"status {status}) than this sweep point; choose another --out or move the file away")


def unfinished(path: Path, digest: str) -> bytes | None:
    """The bytes of ``path``'s partial file when it holds an unfinished run of this point
    (to be continued); None when there is none. Another run's partial file is refused."""
    partial = partial_path(path)
    if not partial.exists():
        return None
    info = inspect(partial)
    if info is None or info.digest != digest:
        raise SweepError(f"{partial}: holds {'another run' if info else 'no readable run'} than this sweep point; "
                         "move it away or choose another --out")
    return partial.read_bytes()


def _keep_partial(directory: Path, name: str, data: bytes) -> None:
    """Replace a point's partial file with a newer one at once (written aside, then renamed)."""
    partial = partial_path(directory / f"{name}.h5")
    writing = partial.with_name(partial.name + ".writing")
    writing.write_bytes(data)
    os.replace(writing, partial)


def _store(directory: Path, entry: Entry, result: PointResult) -> None:
    """Write a returned run file under a temporary name, mark it as a sweep point, rename it."""
    final = directory / entry.file
    partial = final.with_name(final.name + ".writing")
    partial.write_bytes(result.data)
    with h5py.File(partial, "r+") as f:
        f.attrs["sweep_point"] = entry.name
        f.attrs["sweep_parameters"] = json.dumps(entry.params)
        f.attrs["wall_seconds"] = result.wall_seconds
        f.attrs["worker"] = result.worker
    with open(partial, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(partial, final)
    partial_path(final).unlink(missing_ok=True)


@contextmanager
def dask_client(workers: int | None, scheduler: str | None, needed: int) -> Iterator[Any]:
    """A Dask client: on the cluster at ``scheduler``, else on a local cluster of ``workers``
    single-threaded processes (default one per core, at most ``needed``)."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise SweepError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        with client:
            yield client
        return
    n = max(1, min(workers or os.cpu_count() or 1, needed))
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    try:
        yield client
    finally:  # bounded: after Ctrl-C the worker processes may already be gone
        with suppress(Exception):
            client.close(timeout=5)
        with suppress(Exception):
            cluster.close(timeout=5)


def data_key(scenario) -> str:
    """What identifies a scenario's examples: its data section, or a directed graph's task."""
    if is_directed(scenario):
        return f"task:{scenario.directed.task}:{scenario.training.dtype}"
    return scenario.data.model_dump_json()


def _datasets(points: list[Point]) -> dict[str, Dataset]:
    """Load each distinct data section once (on the client); a point whose data cannot be loaded becomes invalid."""
    loaded: dict[str, Dataset] = {}
    for point in points:
        if point.scenario is None:
            continue
        key = data_key(point.scenario)
        if key not in loaded:
            try:
                loaded[key] = load_data(point.scenario)
            except ConfigError as exc:
                loaded[key] = exc
        if isinstance(loaded[key], ConfigError):
            point.error = str(loaded[key])
    return {key: value for key, value in loaded.items() if isinstance(value, Dataset)}


def run_sweep(directory: str | Path, scenario_file: str, base: dict, axes: list[Axis], points: list[Point], *,
              workers: int | None = None, scheduler: str | None = None, retries: int = 2,
              progress: bool = True) -> Manifest:
    """Run every point not yet complete in ``directory``; returns the manifest (also on disk)."""
    directory = Path(directory)
    datasets = _datasets(points)
    entries, todo = [], []
    for point in points:
        entry = Entry(point.name, point.params)
        if point.error is not None:
            entry.status, entry.error = "invalid", point.error
        elif is_complete(directory / entry.file, point.scenario.digest()):
            entry.status = "complete"
        else:
            unfinished(directory / entry.file, point.scenario.digest())  # refuses another run's partial file
            todo.append(point)
        entries.append(entry)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(directory, scenario_file, base, axes, entries)
    _carry_over(directory, manifest)
    manifest.save()
    if todo:
        with dask_client(workers, scheduler, len(todo)) as client:
            _execute(client, directory, manifest, todo, datasets, retries, progress)
    return manifest


def _carry_over(directory: Path, manifest: Manifest) -> None:
    """Keep the wall time, worker and attempts of points completed by an earlier invocation."""
    if not (directory / MANIFEST).is_file():
        return
    for old in read_manifest(directory)["points"]:
        entry = manifest.entries.get(old["name"])
        if entry is not None and entry.status == "complete" and old.get("status") == "complete":
            entry.attempts, entry.wall_seconds, entry.worker = old["attempts"], old["wall_seconds"], old["worker"]


def _outcome(future) -> PointResult | str:
    """A finished task's result, or why it failed in one line. A task that had finished can still
    fail here: its result is lost with its worker before the client fetches it, and Dask recomputes it."""
    from distributed import KilledWorker

    try:
        return future.result()
    except CancelledError:
        return "cancelled by the Dask scheduler"
    except KilledWorker as exc:
        return f"KilledWorker: the worker process died while running it (last on {exc.last_worker.address})"
    except Exception as exc:  # noqa: BLE001 - any failure of the task is reported with the point, not raised
        return f"{type(exc).__name__}: {exc}"


@contextmanager
def _ctrl_c_flag() -> Iterator[threading.Event]:
    """While the sweep loop runs, Ctrl-C sets the returned event, which the loop turns into a
    KeyboardInterrupt of its own. A KeyboardInterrupt raised wherever the client happens to
    be can land in a Dask callback (its garbage-collection diagnosis), which prints it as
    "Exception ignored" and drops it: the client then waits for ever on workers the same
    Ctrl-C has stopped. Off the main thread signals cannot be caught; nothing changes there."""
    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return
    previous = signal.signal(signal.SIGINT, lambda *_: pressed.set())
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


def _execute(client, directory: Path, manifest: Manifest, todo: list[Point], datasets: dict[str, Dataset],
             retries: int, progress: bool) -> None:
    from distributed import Queue, wait

    entries = manifest.entries
    plugin = f"neurosim-sweep-data-{time.time_ns()}"
    client.register_plugin(SweepData(datasets), name=plugin)

    queue = Queue(f"neurosim-checkpoints-{time.time_ns()}", client=client)

    def submit(point: Point):
        partial = unfinished(directory / entries[point.name].file, point.scenario.digest())
        return client.submit(point_task, point.name, point.scenario.to_yaml(), plugin,
                             data_key(point.scenario), partial, queue.name, pure=False,
                             key=f"neurosim-{point.name}-{entries[point.name].attempts}-{time.time_ns()}")

    waiting, pending = list(todo), {}
    done_before = sum(e.status in ("complete", "failed", "invalid") for e in entries.values())
    bar = tqdm(total=len(entries), initial=done_before, desc="sweep", unit="point", disable=not progress,
               dynamic_ncols=True, smoothing=0)
    with _ctrl_c_flag() as ctrl_c:
        try:
            while waiting or pending:
                if ctrl_c.is_set():
                    raise KeyboardInterrupt
                threads = max(1, sum(client.nthreads().values()))
                while waiting and len(pending) < threads:
                    point = waiting.pop(0)
                    pending[submit(point)] = point
                bar.set_postfix_str(_progress(entries, _running(client, pending)), refresh=True)
                try:
                    wait(list(pending), timeout=0.5, return_when="FIRST_COMPLETED")
                except (TimeoutError, CancelledError):  # nothing finished, or a future was cancelled: look below
                    pass
                while queue.qsize():  # before the finished points: a point's last checkpoint precedes its result
                    _keep_partial(directory, *queue.get())
                for future in [f for f in pending if f.done()]:
                    point = pending.pop(future)
                    entry = entries[point.name]
                    entry.attempts += 1
                    result = _outcome(future)
                    if isinstance(result, PointResult):
                        entry.wall_seconds, entry.worker = result.wall_seconds, result.worker
                        if result.error is None:
                            _store(directory, entry, result)
                            entry.status, entry.error = "complete", None
                        else:
                            entry.status, entry.error = "failed", result.error
                    elif entry.attempts <= retries:
                        entry.error = result  # kept in the manifest while the retry waits
                        waiting.insert(0, point)
                    else:
                        entry.status, entry.error, entry.retryable = "failed", result, True
                    future.release()
                    manifest.save()
                    if entry.status != "pending":
                        bar.update()
        except KeyboardInterrupt:
            with suppress(Exception):  # keep the newest checkpoints that reached the client
                while queue.qsize():
                    _keep_partial(directory, *queue.get())
            client.cancel(list(pending))
            for point in [*pending.values(), *waiting]:
                entries[point.name].status = "interrupted"
            manifest.save()
            raise
        finally:
            bar.set_postfix_str(_progress(entries, 0))
            bar.close()
    client.unregister_worker_plugin(plugin)


def _progress(entries: dict[str, Entry], running: int) -> str:
    """The bar's counts beside done/total: complete, running now, failed (and being retried)."""
    complete = sum(e.status == "complete" for e in entries.values())
    failed = sum(e.status in ("failed", "invalid") for e in entries.values())
    retrying = sum(e.status == "pending" and e.attempts > 0 for e in entries.values())
    return f"complete {complete}, running {running}, failed {failed}" + (f", retrying {retrying}" if retrying else "")


def _running(client, pending: dict) -> int:
    """How many of the pending points a worker is executing now (the others are queued)."""
    keys = {future.key for future in pending}
    return sum(key in keys for tasks in client.processing().values() for key in tasks)
