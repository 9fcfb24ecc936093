"""Independent, named random streams derived from one scenario seed.

Every random choice (topology rewiring, weight initialisation, data order, the sign of
beta, stochastic rounding, ...) draws from its own stream, so adding a new consumer of
randomness never changes the numbers an existing one sees: the same scenario file gives
the same result.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator for purpose ``name`` under scenario seed ``seed``.

    The stream key is the CRC-32 of ``name``, which is stable across Python processes
    (unlike ``hash``).
    """
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(key,))))
