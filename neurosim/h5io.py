"""Appendable HDF5 datasets: chunked, gzip-compressed, grown along their first axis."""

from __future__ import annotations

import h5py
import numpy as np


def append_rows(group: h5py.Group, name: str, rows: np.ndarray, **attrs) -> h5py.Dataset:
    """Append ``rows`` along axis 0 of ``group[name]``, creating it (with ``attrs``) on first use."""
    rows = np.asarray(rows)
    if name not in group:
        ds = group.create_dataset(name, shape=(0, *rows.shape[1:]), maxshape=(None, *rows.shape[1:]),
                                  dtype=rows.dtype, chunks=True, compression="gzip", shuffle=True)
        ds.attrs.update(attrs)
    ds = group[name]
    ds.resize(ds.shape[0] + len(rows), axis=0)
    ds[-len(rows):] = rows
    return ds
