"""Uniform fixed-point quantisers: the precision of every stored or communicated signal.

A quantiser with ``bits`` = b has exactly 2^b levels ``lo + k·Δ``, k = 0 … 2^b − 1:

* **unsigned** (activations, neuron states, memory cells): the closed range [lo, hi], both
  ends levels, Δ = (hi − lo)/(2^b − 1). On [0, 1] with 4 bits the levels are k/15.
* **signed** (weights, biases, currents, updates): a symmetric range [−m, m) in two's
  complement, Δ = 2m/2^b, levels −m … m − Δ; 0 is always a level, so a zero update
  leaves a weight where it is.

The paper's example (§2.2) of "signals represented by integers from 0–16 (bit depth of 4)"
counts 17 levels; 4 bits hold 16. Here 4 bits means exactly 16 levels (0–15 in integer
units); the paper's 17 levels would need 5 bits.

Values outside the range saturate at its first or last level (no wrap-around). Rounding
maps the scaled value k = (x − lo)/Δ to an integer: ``nearest`` (halves up),
``truncate`` (towards −∞; a value within 2⁻⁶ Δ below a level counts as that level, so a
level stored in float32 reads back unchanged — for ranges whose largest magnitude is at
most 2^(18−b) times their width, which every range around 0 is) or ``stochastic`` (up with probability
k − ⌊k⌋, so the result is unbiased: E[q(x)] = x inside the range; a level stored in
float32 is off by at most 2^(b−24) Δ, and moves with that probability). ``ideal``
(``bits`` = None) is the identity and costs nothing: the array itself is returned.

Stochastic rounding draws from a SplitMix64 generator held by each quantiser (one 64-bit
word of state, seeded from the scenario's ``stochastic_rounding`` stream), advanced inside
the numba kernels so that rounding needs no extra pass to draw random numbers. SplitMix64
is counter-based (draw n needs only the state and n), so the element loops that round
stochastically vectorise like the deterministic ones.
"""

from __future__ import annotations

import numba
import numpy as np

from neurosim.streams import stream

ROUNDING = ("nearest", "truncate", "stochastic")
"""Rounding modes."""

SNAP = 2.0 ** -6
"""``truncate`` counts a value within SNAP·Δ below a level as that level, so that a level
stored in float32 (off by at most 2^(b−24)·Δ for b ≤ 18 bits) is read back unchanged."""

_OFFSET = {"nearest": 0.5, "truncate": SNAP, "stochastic": -1.0}
"""k = ⌊(x − lo)/Δ + offset⌋; a negative offset means 'draw it uniformly from [0, 1)'."""

IDEAL_PARAMS = np.array([0.0, 1.0, 1.0, -1.0, 0.0])
"""Kernel parameters of an ideal point: top level −1 marks 'pass through'."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@numba.njit(inline="always")
def uniform_at(g, n):  # pragma: no cover - compiled
    """The n-th (n ≥ 1, uint64) uniform number in [0, 1) of the SplitMix64 sequence after state ``g``.

    SplitMix64's n-th output depends on g + n·γ only, so a loop that draws number n for its
    n-th element has independent iterations (the compiler vectorises it) and advances the
    state by count·γ once at the end; the numbers are those of drawing one after another.
    """
    z = g + n * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(inline="always")
def uniform(g):  # pragma: no cover - compiled
    """SplitMix64: (a uniform number in [0, 1), the next state) from state ``g`` (uint64).

    Kernels keep ``g`` in a local variable and write it back once at the end: a store to
    the state array inside an element loop would stop the compiler from optimising it.
    """
    return uniform_at(g, np.uint64(1)), g + _GOLDEN


@numba.njit(inline="always")
def advance(g, count):  # pragma: no cover - compiled
    """The state after ``count`` draws from state ``g``."""
    return g + np.uint64(count) * _GOLDEN


@numba.njit(inline="always")
def point(params):  # pragma: no cover - compiled
    """A quantiser's kernel parameters as scalars: (lo, Δ, 1/Δ, top, offset).

    Kernels unpack every point once, before their loops: values held in registers cannot
    alias the arrays the loop writes, so the compiler keeps them there and vectorises
    the loop (reading ``params[...]`` per element would force a reload after every store).
    """
    return params[0], params[1], params[2], params[3], params[4]


@numba.njit(inline="always")
def quantise_fixed(x, p, offset):  # pragma: no cover - compiled
    """lo + k·Δ with k = ⌊(x − lo)/Δ + offset⌋ clipped to {0 … top}; x itself when top < 0 (ideal).

    ``p`` = (lo, Δ, 1/Δ, top, mode offset), an array or :func:`point`'s tuple. Branch-free
    (selects only), so a loop of it vectorises; NaN stays NaN (every comparison is false).
    """
    lo, top = p[0], p[3]
    k = np.floor((x - lo) * p[2] + offset)
    k = 0.0 if k < 0.0 else k
    k = top if k > top else k
    return x if top < 0.0 else lo + k * p[1]


@numba.njit(inline="always")
def quantise_value(x, p, g):  # pragma: no cover - compiled
    """One value through a quantiser: (q(x), next generator state).

    The offset is the mode's (½ nearest, SNAP truncation) or, for stochastic rounding, a
    uniform draw, so P(round up) = the fractional part and E[k] = (x − lo)/Δ. Kernels call
    it only where some point is stochastic; deterministic loops call :func:`quantise_fixed`.
    """
    offset = p[4]
    if offset < 0.0:
        offset, g = uniform(g)
    return quantise_fixed(x, p, offset), g


@numba.njit(inline="always")
def quantise_at(x, p, g, n):  # pragma: no cover - compiled
    """q(x) for the n-th element of a pass (n ≥ 1): a stochastic point rounds with draw n
    after state ``g`` (:func:`uniform_at`), a deterministic one with its mode's offset."""
    offset = uniform_at(g, n) if p[4] < 0.0 else p[4]
    return quantise_fixed(x, p, offset)


@numba.njit(cache=True, nogil=True)
def quantise_array(x, out, params, state):  # pragma: no cover - compiled
    """``out`` ← q(``x``) element by element (x and out may be the same array); ``state``
    holds the generator state (one uint64), advanced in place by one draw per element
    when rounding is stochastic."""
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    p = point(params)
    if p[4] >= 0.0:
        for i in range(flat_x.size):
            flat_out[i] = quantise_fixed(flat_x[i], p, p[4])
        return
    g = state[0]
    for i in range(flat_x.size):
        flat_out[i] = quantise_at(flat_x[i], p, g, np.uint64(i + 1))
    state[0] = advance(g, flat_x.size)


class Quantiser:
    """One quantisation point: bit depth, range, rounding; ``bits=None`` is ideal (float).

    ``signed`` selects the two's-complement range [lo, hi) with Δ = (hi − lo)/2^b (for a
    symmetric range 0 is a level); unsigned is the closed range [lo, hi] with
    Δ = (hi − lo)/(2^b − 1). ``seed`` and ``name`` select the stochastic-rounding stream.
    """

    def __init__(self, bits: int | None = None, lo: float = 0.0, hi: float = 1.0, rounding: str = "nearest",
                 signed: bool = False, seed: int = 0, name: str = ""):
        if bits is not None and bits < 1:
            raise ValueError(f"bits must be ≥ 1, got {bits}")
        if not lo < hi:
            raise ValueError(f"range [{lo}, {hi}] is empty or inverted")
        if rounding not in ROUNDING:
            raise ValueError(f"rounding {rounding!r} is not one of {', '.join(ROUNDING)}")
        self.bits, self.lo, self.hi, self.rounding, self.signed = bits, float(lo), float(hi), rounding, signed
        self.state = np.array([stream(seed, f"stochastic_rounding:{name}").integers(2 ** 63)], dtype=np.uint64)
        if bits is None:
            self.params = IDEAL_PARAMS.copy()
        else:
            step = (self.hi - self.lo) / (2 ** bits if signed else 2 ** bits - 1)
            self.params = np.array([self.lo, step, 1.0 / step, 2.0 ** bits - 1.0, _OFFSET[rounding]])

    @property
    def ideal(self) -> bool:
        return self.bits is None

    @property
    def step(self) -> float:
        """Δ, the distance between neighbouring levels (0 for an ideal point)."""
        return 0.0 if self.ideal else float(self.params[1])

    def levels(self) -> np.ndarray:
        """All 2^bits representable values, ascending (float64)."""
        if self.ideal:
            raise ValueError("an ideal quantiser has no finite set of levels")
        return self.lo + np.arange(2 ** self.bits) * self.step

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """q(x) as a new array of x's dtype; x itself when ideal."""
        if self.ideal:
            return x
        x = np.asarray(x)
        out = np.empty_like(x, dtype=x.dtype if x.dtype.kind == "f" else np.float64)
        quantise_array(x, out, self.params, self.state)
        return out

    def inplace(self, x: np.ndarray) -> None:
        """x ← q(x) in place (nothing when ideal)."""
        if not self.ideal:
            quantise_array(x, x, self.params, self.state)

    def __repr__(self) -> str:
        if self.ideal:
            return "Quantiser(ideal)"
        kind = "signed" if self.signed else "unsigned"
        return f"Quantiser({self.bits} bits, {kind} [{self.lo}, {self.hi}], {self.rounding})"
