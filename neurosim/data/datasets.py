"""Training and test examples: the embedded MNIST subset or standard IDX files.

Images become pixel intensities in [0, 1] (float, one row per example); labels become
one-hot target vectors.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from neurosim.errors import ConfigError
from neurosim.config.scenario import DataConfig

EMBEDDED_TRAIN = 8_000
EMBEDDED_TEST = 2_000

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
    if train_size + test_size > len(labels):
        raise ConfigError(
            None, "data", f"train_size + test_size = {train_size + test_size} exceeds the "
            f"{len(labels)} embedded examples"
        )
    train_x, train_y = _as_examples(images[:train_size], labels[:train_size], 10)
    test_x, test_y = _as_examples(images[len(labels) - test_size :], labels[len(labels) - test_size :], 10)
    return Dataset(train_x, train_y, test_x, test_y, "mnist10k (embedded)")


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzipped or not): magic 0x0000TTDD, DD dimension sizes, data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ConfigError(str(path), "", "not an IDX file (bad magic number)")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ConfigError(str(path), "", f"holds {data.size} values but its header says {dims}")
    return data.reshape(dims)


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
    for split in ("train", "t10k"):
        images = read_idx(_find_idx(directory, f"{split}-images-idx3-ubyte"))
        labels = read_idx(_find_idx(directory, f"{split}-labels-idx1-ubyte"))
        if len(images) != len(labels):
            raise ConfigError(str(directory), "data.path", f"{split}: {len(images)} images but {len(labels)} labels")
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
