"""The HDF5 run file: appendable datasets and reading a run back (no training imported)."""
