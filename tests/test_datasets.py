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


def write_idx_set(directory, compress: bool) -> dict:
    """The four IDX files of a small data set, 12 training and 5 test examples (gzipped or
    not); the arrays they hold."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (12, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 12),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(5),
    }
    for name, array in arrays.items():
        data = idx_bytes(array)
        if compress:
            (directory / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (directory / name).write_bytes(data)
    return arrays


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
    arrays = write_idx_set(tmp_path, compress)
    data = load_idx(tmp_path, train_size=10)
    assert data.train_x.shape == (10, 784) and data.test_x.shape == (5, 784)
    np.testing.assert_allclose(data.train_x * 255, arrays["train-images-idx3-ubyte"][:10].reshape(10, -1), atol=1e-4)
    assert list(data.test_y.argmax(1)) == [0, 1, 2, 3, 4]


def test_idx_errors_name_the_file(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ConfigError, match="bad magic number"):
        read_idx(bad)
    bad.unlink()
    with pytest.raises(ConfigError, match="no file train-images-idx3-ubyte"):
        load_idx(tmp_path)


def damaged(data: bytes) -> dict[str, tuple[bytes, str]]:
    """Ways a gzipped IDX file can be broken: its bytes and words of the message it gets."""
    packed = gzip.compress(data)
    return {
        "not gzip": (data, "is not a valid gzip file"),
        "png": (b"\x89PNG\r\n\x1a\n" + bytes(64), "is not a valid gzip file"),
        "empty": (b"", "not an IDX file (bad magic number)"),
        "truncated stream": (packed[: len(packed) // 2], "is truncated: the gzip stream ends before its end marker"),
        "corrupt stream": (packed[:10] + bytes(b ^ 0xFF for b in packed[10:-8]) + packed[-8:], "is not a valid gzip file"),
        "truncated values": (gzip.compress(data[:-7]), "bytes of values but its header says (12, 28, 28)"),
        "truncated header": (gzip.compress(data[:9]), "is truncated: 9 bytes, but a header of 3 dimensions takes 16"),
    }


@pytest.mark.parametrize("kind", list(damaged(b"")))
def test_a_damaged_gzip_idx_file_is_refused_naming_it(tmp_path, kind):
    write_idx_set(tmp_path, compress=True)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    content, words = damaged(gzip.decompress(path.read_bytes()))[kind]
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_idx(tmp_path)
    assert info.value.file == str(path) and words in info.value.reason, str(info.value)


def test_more_examples_than_the_files_hold_are_refused(tmp_path):
    write_idx_set(tmp_path, compress=False)
    with pytest.raises(ConfigError) as info:
        load_idx(tmp_path, train_size=13)
    assert info.value.key_path == "data.train_size" and "13 examples asked for" in info.value.reason
    with pytest.raises(ConfigError, match="data.test_size: 6 examples asked for, but t10k-images-idx3-ubyte holds 5"):
        load_idx(tmp_path, test_size=6)
    assert len(load_idx(tmp_path, train_size=12, test_size=5).train_x) == 12


def test_labels_and_images_of_the_wrong_shape_or_value_are_refused(tmp_path):
    write_idx_set(tmp_path, compress=False)
    labels = tmp_path / "train-labels-idx1-ubyte"
    labels.write_bytes(idx_bytes(np.zeros((12, 2))))
    with pytest.raises(ConfigError, match="images need at least 2 dimensions and labels 1"):
        load_idx(tmp_path)
    labels.write_bytes(bytes([0, 0, 0x0D, 1, 0, 0, 0, 12]) + np.full(12, 0.5, dtype=">f4").tobytes())
    with pytest.raises(ConfigError, match="labels must be whole numbers from 0"):
        load_idx(tmp_path)
