"""Logic operations on two binary inputs: the four examples and their targets."""

from __future__ import annotations

import numpy as np

INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])

_TRUTH = {
    "and": [0.0, 0.0, 0.0, 1.0],
    "or": [0.0, 1.0, 1.0, 1.0],
    "xor": [0.0, 1.0, 1.0, 0.0],
}


def logic_task(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y): the 4 input pairs (4 × 2) and the truth table of ``name`` (4 × 1)."""
    return INPUTS.copy(), np.array(_TRUTH[name])[:, None]
