"""Training and test examples: the embedded MNIST subset or standard IDX files.

Images become pixel intensities in [0, 1] (float, one row per example); labels become
one-hot target vectors.
"""

from __future__ import annotations

import gzip
import math
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from neurosim.errors import ConfigError
from neurosim.config.scenario import EMBEDDED_TEST, EMBEDDED_TRAIN, DataConfig

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass(frozen=True)
class Dataset:
    """Examples as arrays: ``x`` (examples × pixels, in [0, 1]), ``y`` one-hot (examples × classes)."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    name: str

    @property
    def n_inputs(self) -> int:
        return self.train_x.shape[1]

    @property
    def n_classes(self) -> int:
        return self.train_y.shape[1]


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows of zeros with a one at each label's index."""
    out = np.zeros((labels.size, n_classes), dtype=np.float32)
    out[np.arange(labels.size), labels.astype(np.intp)] = 1.0
    return out


def _as_examples(images: np.ndarray, labels: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    x = images.reshape(images.shape[0], -1).astype(np.float32) / 255.0
    return x, one_hot(labels, n_classes)


def load_embedded(train_size: int | None = None, test_size: int | None = None) -> Dataset:
    """The 10,000 shipped MNIST digits: the first ``train_size`` for training, the last
    ``test_size`` for testing (deterministic; defaults 8,000 / 2,000, disjoint)."""
    train_size = EMBEDDED_TRAIN if train_size is None else train_size
    test_size = EMBEDDED_TEST if test_size is None else test_size
    with resources.files("neurosim.data").joinpath("mnist10k.npz").open("rb") as fh:
        archive = np.load(fh)
        images, labels = archive["images"], archive["labels"]
    if train_size + test_size > len(labels):  # the scenario schema refuses this already; direct calls get the same
        raise ConfigError(
            None, "data", f"train_size + test_size = {train_size + test_size} exceeds the "
            f"{len(labels)} embedded examples"
        )
    train_x, train_y = _as_examples(images[:train_size], labels[:train_size], 10)
    test_x, test_y = _as_examples(images[len(labels) - test_size :], labels[len(labels) - test_size :], 10)
    return Dataset(train_x, train_y, test_x, test_y, "mnist10k (embedded)")


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzipped when its name ends in ``.gz``): magic 0x0000TTDD (TT the
    value type, DD the number of dimensions), DD big-endian dimension sizes, then the values.
    Anything else (not gzip, truncated, a header that does not match the data) is a
    ConfigError naming the file."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        else:
            raw = path.read_bytes()
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise ConfigError(str(path), "", f"is not a valid gzip file ({exc})") from None
    except EOFError:
        raise ConfigError(str(path), "", "is truncated: the gzip stream ends before its end marker") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot be read ({exc.strerror or exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ConfigError(str(path), "", "not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ConfigError(str(path), "", f"is truncated: {len(raw)} bytes, but a header of {ndim} dimensions "
                          f"takes {header}")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = math.prod(dims) * dtype.itemsize
    if len(raw) - header != expected:
        raise ConfigError(str(path), "", f"holds {len(raw) - header} bytes of values but its header says {dims} "
                          f"values of {dtype.itemsize} byte(s), {expected} bytes (truncated or not an IDX file?)")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


def _find_idx(directory: Path, stem: str) -> Path:
    for candidate in (stem, stem.replace("-idx", ".idx"), f"{stem}.gz", f"{stem.replace('-idx', '.idx')}.gz"):
        if (directory / candidate).is_file():
            return directory / candidate
    raise ConfigError(str(directory), "data.path", f"no file {stem}[.gz] in this directory")


def load_idx(directory: str | Path, train_size: int | None = None, test_size: int | None = None) -> Dataset:
    """MNIST-format IDX files (MNIST, Fashion-MNIST, ...) from ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(str(directory), "data.path", "no such directory")
    parts = {}
    for split, size, key in (("train", train_size, "data.train_size"), ("t10k", test_size, "data.test_size")):
        image_file = _find_idx(directory, f"{split}-images-idx3-ubyte")
        label_file = _find_idx(directory, f"{split}-labels-idx1-ubyte")
        images, labels = read_idx(image_file), read_idx(label_file)
        if images.ndim < 2 or labels.ndim != 1:
            raise ConfigError(str(directory), "data.path", f"{split}: images need at least 2 dimensions and labels "
                              f"1, but {image_file.name} has {images.ndim} and {label_file.name} {labels.ndim}")
        if len(images) != len(labels):
            raise ConfigError(str(directory), "data.path", f"{split}: {len(images)} images but {len(labels)} labels")
        if labels.size and not (np.all(labels >= 0) and np.all(labels == np.round(labels))):
            raise ConfigError(str(label_file), "", "labels must be whole numbers from 0 (class indices)")
        if size is not None and size > len(labels):
            raise ConfigError(str(directory), key, f"{size:,} examples asked for, but {image_file.name} holds "
                              f"{len(labels):,}")
        parts[split] = (images, labels)
    n_classes = int(max(parts["train"][1].max(), parts["t10k"][1].max())) + 1
    (tr_i, tr_l), (te_i, te_l) = parts["train"], parts["t10k"]
    train_x, train_y = _as_examples(tr_i[:train_size], tr_l[:train_size], n_classes)
    test_x, test_y = _as_examples(te_i[:test_size], te_l[:test_size], n_classes)
    return Dataset(train_x, train_y, test_x, test_y, f"idx:{directory.name}")


def load_dataset(config: DataConfig) -> Dataset:
    """The data set a scenario's ``data`` section names."""
    if config.source == "embedded":
        return load_embedded(config.train_size, config.test_size)
    return load_idx(config.path, config.train_size, config.test_size)
