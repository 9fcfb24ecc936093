"""Appendable HDF5 datasets: chunked, gzip-compressed (level 1: device states and weights are
noisy floats that higher levels shrink no further, only slower), grown
along their first axis.

A chunk holds whole rows (events): as many as fit in ``CHUNK_BYTES``, at least one and
at most ``MAX_CHUNK_ROWS``. Appending a row never makes the library recompress earlier
rows' chunks (for rows of ``CHUNK_BYTES`` or more), and reading one event reads only
its own chunk(s). ``CHUNK_BYTES`` is 32 KiB, gzip's window: larger chunks compress no
better, and every flush (one per epoch) compresses again the whole chunk that received
rows, a cost that grows with the chunk.

:class:`Appendables` keeps the open handle and the row count of every appendable dataset
of one file, so that a run appending a few rows to dozens of datasets after every epoch
neither looks a dataset up by its path nor asks the library for its shape, and knows
every appendable dataset's length (for the checkpoint) without walking the file.
"""

from __future__ import annotations

import h5py
import numpy as np
from h5py import h5s

CHUNK_BYTES = 32 << 10
MAX_CHUNK_ROWS = 1024


def create_appendable(group: h5py.Group, name: str, row_shape: tuple[int, ...], dtype, **attrs) -> h5py.Dataset:
    """An empty (0, *row_shape) dataset that :func:`append_rows` grows; ``attrs`` become its attributes."""
    dtype = np.dtype(dtype)
    row_bytes = max(1, int(np.prod(row_shape, dtype=np.int64)) * dtype.itemsize)
    chunk_rows = int(min(MAX_CHUNK_ROWS, max(1, CHUNK_BYTES // row_bytes)))
    ds = group.create_dataset(name, shape=(0, *row_shape), maxshape=(None, *row_shape), dtype=dtype,
                              chunks=(chunk_rows, *row_shape), compression="gzip", compression_opts=1, shuffle=True)
    ds.attrs.update(attrs)
    return ds


def append_rows(group: h5py.Group, name: str, rows: np.ndarray, **attrs) -> h5py.Dataset:
    """Append ``rows`` along axis 0 of ``group[name]``, creating it (with ``attrs``) on first use."""
    rows = np.asarray(rows)
    if name not in group:
        create_appendable(group, name, rows.shape[1:], rows.dtype, **attrs)
    ds = group[name]
    ds.resize(ds.shape[0] + len(rows), axis=0)
    ds[-len(rows):] = rows
    return ds


def write_rows(ds: h5py.Dataset, start: int, rows: np.ndarray) -> None:
    """Write ``rows`` (an array) into ``ds`` from row ``start`` on, through the library's
    low-level call (what ``ds[start:start + len(rows)] = rows`` does, without its
    selection machinery; the library converts the values to the dataset's type alike)."""
    rows = np.ascontiguousarray(rows)
    space = ds.id.get_space()
    space.select_hyperslab((start,) + (0,) * (rows.ndim - 1), rows.shape)
    ds.id.write(h5s.create_simple(rows.shape), space, rows)


def write_all(ds: h5py.Dataset, array: np.ndarray) -> None:
    """Overwrite the whole of ``ds`` with ``array`` of its shape (``ds[...] = array``, low-level)."""
    if array.ndim == 0 or array.size == 0:
        ds[...] = array
    else:
        ds.id.write(h5s.ALL, h5s.ALL, np.ascontiguousarray(array))


def is_appendable(obj) -> bool:
    """A dataset that grows along its first axis (its first maximum dimension is unlimited)."""
    return isinstance(obj, h5py.Dataset) and bool(obj.maxshape) and obj.maxshape[0] is None


class Appendables:
    """Every appendable dataset of one open file outside ``skip`` (a top-level group), by
    path (relative to the root, as :meth:`h5py.Group.visititems` names it), with its open
    handle and its number of rows.

    The file is walked once, when this is made (a resumed file holds appendable datasets
    already); from then on every appendable dataset must be created and grown through
    :meth:`create` and :meth:`append` (or registered with :meth:`add`), which keep the
    handles and the counts. The attributes are written once, when a dataset is created.
    """

    def __init__(self, file: h5py.File, skip: str | None = None):
        self.file = file
        self.datasets: dict[str, h5py.Dataset] = {}
        self.rows: dict[str, int] = {}
        self._row_shapes: dict[str, tuple[int, ...]] = {}
        self._groups: dict[str, h5py.Group] = {}
        for top in file:
            if top == skip:
                continue
            node = file[top]
            if is_appendable(node):
                self.add(node, top)
            elif isinstance(node, h5py.Group):
                node.visititems(lambda name, obj, top=top: self._found(obj, f"{top}/{name}"))

    def _found(self, obj, path: str) -> None:
        """Register ``obj`` if it is appendable (returns None: a walk stops at the first other value)."""
        if is_appendable(obj):
            self.add(obj, path)

    def add(self, ds: h5py.Dataset, path: str | None = None) -> h5py.Dataset:
        """Register an appendable dataset created elsewhere (``path``: its name without the leading /)."""
        path = ds.name.lstrip("/") if path is None else path
        self.datasets[path] = ds
        shape = ds.shape
        self.rows[path], self._row_shapes[path] = shape[0], shape[1:]
        return ds

    def group(self, path: str) -> h5py.Group:
        """The group at ``path`` (created if missing; "" is the root), its handle kept."""
        g = self._groups.get(path)
        if g is None:
            g = self._groups[path] = self.file.require_group(path) if path else self.file
        return g

    def create(self, group: h5py.Group | str, name: str, row_shape: tuple[int, ...], dtype,
               **attrs) -> h5py.Dataset:
        """:func:`create_appendable`, registered; ``group`` is a group or its path."""
        g = self.group(group) if isinstance(group, str) else group
        prefix = group if isinstance(group, str) else g.name.lstrip("/")
        return self.add(create_appendable(g, name, row_shape, dtype, **attrs), f"{prefix}/{name}" if prefix else name)

    def append(self, path: str, rows: np.ndarray, **attrs) -> h5py.Dataset:
        """Append ``rows`` along axis 0 of the dataset at ``path``, creating it (with
        ``attrs``: its attributes, used only then) on first use."""
        rows = np.asarray(rows)
        ds = self.datasets.get(path)
        if ds is None:
            parent, _, name = path.rpartition("/")
            ds = self.create(parent, name, rows.shape[1:], rows.dtype, **attrs)
        n, k = self.rows[path], len(rows)
        if k:
            row_shape = self._row_shapes[path]
            if rows.shape[1:] != row_shape:
                rows = np.broadcast_to(rows, (k, *row_shape))
            ds.id.set_extent((n + k, *row_shape))
            self.rows[path] = n + k  # counted before the write: a failed write is cut back at exit
            write_rows(ds, n, rows)
        return ds

    def lengths(self) -> dict[str, int]:
        """Rows of every registered dataset, by path."""
        return dict(self.rows)
