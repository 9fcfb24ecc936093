"""Data: the embedded subset and IDX files."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from neurosim.data.datasets import load_embedded, load_idx, read_idx
from neurosim.errors import ConfigError


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format (magic 0x00000803 for 3 dims, sizes big-endian)."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_embedded_split_is_deterministic_and_disjoint():
    data = load_embedded()
    assert data.train_x.shape == (8000, 784) and data.test_x.shape == (2000, 784)
    assert data.train_x.min() == 0.0 and data.train_x.max() == 1.0
    assert np.all(data.train_y.sum(1) == 1) and data.n_classes == 10
    again = load_embedded(train_size=100, test_size=50)
    np.testing.assert_array_equal(again.train_x, data.train_x[:100])
    np.testing.assert_array_equal(again.test_x, data.test_x[-50:])
    # every class appears in both splits
    assert np.all(data.train_y.sum(0) > 600) and np.all(data.test_y.sum(0) > 150)


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, compress):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (12, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 12),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(5) * 2,
    }
    for name, array in arrays.items():
        data = idx_bytes(array)
        if compress:
            (tmp_path / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (tmp_path / name).write_bytes(data)
    data = load_idx(tmp_path, train_size=10)
    assert data.train_x.shape == (10, 784) and data.test_x.shape == (5, 784)
    np.testing.assert_allclose(data.train_x * 255, arrays["train-images-idx3-ubyte"][:10].reshape(10, -1), atol=1e-4)
    assert list(data.test_y.argmax(1)) == [0, 2, 4, 6, 8]


def test_idx_errors_name_the_file(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ConfigError, match="bad magic number"):
        read_idx(bad)
    bad.unlink()
    with pytest.raises(ConfigError, match="no file train-images-idx3-ubyte"):
        load_idx(tmp_path)
