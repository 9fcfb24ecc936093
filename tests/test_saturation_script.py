"""docs/reproduction/saturation.py: the saturated share and the input spread it prints are
those defined in its docstring, on a trace whose answer is known by construction."""

from __future__ import annotations

import runpy
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

SCRIPT = Path(__file__).parents[1] / "docs" / "reproduction" / "saturation.py"
layer_table = runpy.run_path(str(SCRIPT))["layer_table"]


def write_trace(path: Path, states: np.ndarray, layers: np.ndarray) -> None:
    with h5py.File(path, "w") as f:
        group = f.create_group("trace/u0/phase_end")
        values = group.create_dataset("values", data=states)
        values.attrs["neuron_layer"] = layers
        group["epoch"] = np.arange(states.shape[0])


def cells(table: str, trained: int) -> list[str]:
    row = next(line for line in table.splitlines() if line.startswith(f"| {trained} |"))
    return [c.strip() for c in row.strip("|").split("|")[1:]]


@settings(max_examples=25, deadline=None)
@given(low=st.floats(0.01, 0.49), high=st.floats(0.51, 0.99), examples=st.integers(2, 12).map(lambda n: 2 * n))
def test_a_bounded_constant_layer_and_a_two_valued_layer(tmp_path_factory, low, high, examples):
    """Layer 1 sits at the bounds 0 and 1 whatever the example: 100 % saturated, spread 0.
    Layer 2 takes low and high on alternate examples: nothing saturated, and the standard
    deviation of two equally frequent values is half their distance."""
    path = tmp_path_factory.mktemp("trace") / "run.h5"
    layer1 = np.tile([0.0, 1.0, 1.0], (examples, 1))
    layer2 = np.where(np.arange(examples)[:, None] % 2 == 0, low, high) * np.ones((1, 4))
    states = np.concatenate([layer1, layer2], axis=1)[None]
    write_trace(path, states, np.array([1, 1, 1, 2, 2, 2, 2]))
    first, second = cells(layer_table(str(path)), 0)
    assert first == "100 % / 0.0e+00"
    share, spread = second.split(" / ")
    assert share == "0 %"
    assert float(spread) == pytest.approx((high - low) / 2, rel=0.051)  # printed to 2 digits


def test_a_short_last_batch_is_left_out(tmp_path):
    """Rows of NaN (examples past a short batch) count neither as states nor in the spread."""
    states = np.array([[[0.0, 0.2]], [[0.0, 0.6]], [[np.nan, np.nan]]]).transpose(1, 0, 2)
    write_trace(tmp_path / "run.h5", states, np.array([1, 2]))
    assert cells(layer_table(str(tmp_path / "run.h5")), 0) == ["100 % / 0.0e+00", "0 % / 2.0e-01"]


def test_a_file_without_a_trace_is_named(tmp_path):
    with h5py.File(tmp_path / "run.h5", "w"):
        pass
    with pytest.raises(SystemExit, match="run.h5: holds no trace of U0"):
        layer_table(str(tmp_path / "run.h5"))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(SystemExit, match="missing.h5: not a readable run file"):
        layer_table(str(tmp_path / "missing.h5"))
