"""Appendable HDF5 datasets: chunked, gzip-compressed (level 1: device states and weights are
noisy floats that higher levels shrink no further, only slower), grown
along their first axis.

A chunk holds whole rows (events): as many as fit in ``CHUNK_BYTES``, at least one and
at most ``MAX_CHUNK_ROWS``. Appending a row never makes the library recompress earlier
rows' chunks (for rows of ``CHUNK_BYTES`` or more), and reading one event reads only
its own chunk(s).
"""

from __future__ import annotations

import h5py
import numpy as np

CHUNK_BYTES = 256 << 10
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
