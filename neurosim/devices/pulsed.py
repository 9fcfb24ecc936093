"""Pulsed analog synapses: conductances written by programming pulses, varying from device
to device and from pulse to pulse, some stuck, drifting after they are written.

A :class:`PulsedArray` holds, for one weight array (a layer pair's block, or a directed
graph's whole matrix), what the chip fixed when it was made (per device: step sizes up and
down, bounds, drift exponent, stuck or not, drawn from the scenario seed's ``chip``
stream) and what changes as it learns: the programmed conductance, the time of its last
write, and one SplitMix64 generator word for every pulse-to-pulse draw (pulse rounding,
step noise, write noise), advanced inside the numba kernel. The equations are those of
:class:`neurosim.devices.analog.PulsedUpdate` and :class:`~neurosim.devices.analog.Drift`.

The weights the circuit reads are the bank's weight array itself; this class changes it
only through :meth:`PulsedArray.apply` (an update) and :meth:`PulsedArray.drift_to` (time
passing). Without drift and write noise the visible weight is the programmed one.
"""

from __future__ import annotations

import math
import zlib

import numba
import numpy as np

from neurosim.devices.analog import Drift, PulsedUpdate, ReadNoise, Timing
from neurosim.devices.quantize import uniform
from neurosim.devices.spec import SynapseDevice
from neurosim.streams import stream

MODELS = {"constant_step": 0, "linear_step": 1, "soft_bounds": 2, "power_step": 3}
"""Kernel code of each step model."""


@numba.njit(inline="always")
def _normal(g):  # pragma: no cover - compiled
    """A standard normal draw (Box–Muller from two uniforms) and the next generator state."""
    u1, g = uniform(g)
    u2, g = uniform(g)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2), g


@numba.njit(inline="always")
def _step(w, up, base, top, bottom, gamma, model, mean_top, mean_bottom):  # pragma: no cover - compiled
    """The noise-free step of one pulse (≥ 0) from weight w; ``up``: towards ``top``."""
    if model == 1:
        return base * (1.0 - gamma * w / (mean_top if up else mean_bottom))
    if model == 2:
        return base * (1.0 - w / (top if up else bottom))
    if model == 3:
        omega = min(max((top - w) / (top - bottom), 0.0), 1.0)
        return base * (omega if up else 1.0 - omega) ** gamma
    return base


@numba.njit(cache=True, nogil=True)
def apply_pulses(visible, hidden, change, live, up, down, lo, hi, gamma_up, gamma_down, stuck, model,
                 mean_top, mean_bottom, granularity, step_std, mult_noise, write_std, dw_min, stochastic,
                 max_pulses, symmetric, written, state):  # pragma: no cover - compiled
    """Apply the update ``change`` (= α·ΔW, weight units) to every live device as pulses.

    ``hidden`` is the conductance the pulses move (the same array as ``visible`` without
    write noise); ``visible`` ← hidden + write noise where a device was written, and
    ``written`` (bool) is set there. ``symmetric``: only the upper triangle is updated and
    mirrored (an intralayer block). Returns (pulses applied, devices with a change whose
    visible weight did not move, devices with a change); stuck devices count their pulses
    (they are sent).
    """
    rows, cols = visible.shape
    g = state[0]
    pulses = lost = nonzero = 0
    for i in range(rows):
        for j in range(i if symmetric else 0, cols):
            delta = change[i, j]
            if delta == 0.0 or not live[i, j]:
                continue
            nonzero += 1
            exact = abs(delta) / granularity
            n = math.floor(exact)
            if stochastic:
                u, g = uniform(g)
                if u < exact - n:
                    n += 1
            elif exact - n >= 0.5:
                n += 1
            n = min(n, max_pulses)
            if n == 0 or stuck[i, j]:
                pulses += n
                lost += 1
                continue
            pulses += n
            rising = delta > 0.0
            base = up[i, j] if rising else down[i, j]
            gamma = gamma_up[i, j] if rising else gamma_down[i, j]
            top, bottom = hi[i, j], lo[i, j]
            w = hidden[i, j]
            for _ in range(n):
                step = _step(w, rising, base, top, bottom, gamma, model, mean_top, mean_bottom)
                if step_std > 0.0:
                    xi, g = _normal(g)
                    step = step * (1.0 + step_std * xi) if mult_noise else step + base * step_std * xi
                w = w + step if rising else w - step
                w = min(max(w, bottom), top)
            hidden[i, j] = w
            seen = w
            if write_std > 0.0:
                xi, g = _normal(g)
                seen = w + write_std * dw_min * xi
            if visible[i, j] == seen:
                lost += 1
            visible[i, j] = seen
            written[i, j] = True
            if symmetric:
                hidden[j, i] = w
                visible[j, i] = seen
                written[j, i] = True
    state[0] = g
    return pulses, lost, nonzero


class PulsedArray:
    """The pulsed devices of one weight array (shape ``shape``), made from the scenario seed.

    ``name`` selects the device-to-device draws (stream ``chip:NAME``), so every block gets
    its own devices; ``symmetric`` (an intralayer block) makes one device per neuron pair.
    """

    def __init__(self, shape: tuple[int, int], spec: PulsedUpdate, drift: Drift, seed: int, name: str,
                 dtype=np.float32, symmetric: bool = False):
        chip = stream(seed, f"chip:{name}")
        normal = lambda: chip.standard_normal(shape)  # noqa: E731 - one draw per device, in a fixed order
        gain = 1.0 + spec.dw_min_dtod * normal()
        spread = spec.up_down_dtod * normal()
        self.up = spec.dw_min * np.abs(gain + min(spec.up_down, 0.0) + spread)
        self.down = spec.dw_min * np.abs(gain + min(-spec.up_down, 0.0) - spread)
        self.hi = np.abs(spec.w_max * (1.0 + spec.w_max_dtod * normal()))
        self.lo = -np.abs(spec.w_min * (1.0 + spec.w_min_dtod * normal()))
        if spec.model == "power_step":
            h = 1.0 + spec.pow_gamma_dtod * normal()
            self.gamma_up = spec.pow_gamma * np.abs(h + min(spec.pow_up_down, 0.0))
            self.gamma_down = spec.pow_gamma * np.abs(h + min(-spec.pow_up_down, 0.0))
        else:
            self.gamma_up, self.gamma_down = np.full(shape, spec.gamma_up), np.full(shape, spec.gamma_down)
        self.stuck = chip.random(shape) < spec.corrupt_devices_prob
        reach_lo, reach_hi = np.maximum(self.lo, -spec.corrupt_devices_range), np.minimum(self.hi,
                                                                                          spec.corrupt_devices_range)
        self.stuck_at = {"w_min": self.lo, "w_max": self.hi, "zero": np.zeros(shape),
                         "random": reach_lo + (reach_hi - reach_lo) * chip.random(shape)}[spec.corrupt_devices_value]
        self.nu = np.abs(drift.nu * (1.0 + drift.nu_dtod * normal()))
        if symmetric:  # one device per pair of neurons of an intralayer block: W = Wᵀ
            for a in (self.up, self.down, self.hi, self.lo, self.gamma_up, self.gamma_down, self.stuck_at, self.nu):
                a[...] = np.triu(a) + np.triu(a, 1).T
            self.stuck = np.triu(self.stuck) | np.triu(self.stuck, 1).T
        self.spec, self.drift, self.symmetric = spec, drift, symmetric
        self.dtype = np.dtype(dtype)
        self.state = np.array([stream(seed, f"pulses:{name}").integers(2 ** 63)], dtype=np.uint64)
        self.hidden = np.zeros(shape, dtype=self.dtype)
        """The conductance the pulses move (before write noise)."""
        self.programmed = np.zeros(shape, dtype=self.dtype)
        """The weight each device read right after its last write (drift scales it)."""
        self.written_at = np.zeros(shape, dtype=np.float64)
        """Clock time of each device's last write, s."""
        self._everywhere = np.ones(shape, dtype=bool)
        self._touched = np.zeros(shape, dtype=bool)

    def program(self, weights: np.ndarray, live: np.ndarray | None = None, now: float = 0.0) -> None:
        """Write initial weights: clipped to each device's bounds, stuck devices at their value,
        0 where no device exists (``live`` False; in place: ``weights`` is the bank's array)."""
        np.clip(weights, self.lo, self.hi, out=weights, casting="unsafe")
        stuck = self.stuck if live is None else self.stuck & live.astype(bool)
        weights[stuck] = self.stuck_at[stuck]
        self.hidden[...] = weights
        self.programmed[...] = weights
        self.written_at[...] = now

    def apply(self, weights: np.ndarray, change: np.ndarray, live: np.ndarray | None = None,
              now: float = 0.0) -> tuple[int, int, int]:
        """Apply the update ``change`` (α·ΔW) to ``weights`` (the bank's array, in place).

        Returns (pulses, lost, written): pulses sent, devices with a nonzero change whose
        weight did not move (no pulse, stuck, or at a bound), devices with a nonzero change.
        """
        live = self._everywhere if live is None else live.astype(bool, copy=False)
        if self.drift.enabled:  # pulses act on the conductance as it has drifted
            self.hidden[...] = weights
        touched = self._touched
        touched[...] = False
        spec = self.spec
        hidden = self.hidden if (spec.write_noise_std > 0.0 or self.drift.enabled) else weights
        pulses, lost, nonzero = apply_pulses(
            weights, hidden, change, live, self.up, self.down, self.lo, self.hi, self.gamma_up, self.gamma_down,
            self.stuck, MODELS[spec.model], spec.w_max, spec.w_min, spec.granularity, spec.dw_min_std,
            spec.mult_noise, spec.write_noise_std, spec.dw_min, spec.pulse_rounding == "stochastic",
            spec.max_pulses, self.symmetric, touched, self.state)
        if hidden is weights:
            self.hidden[...] = weights
        if self.drift.enabled:
            self.programmed[touched] = weights[touched]
            self.written_at[touched] = now
        return int(pulses), int(lost), int(nonzero)

    def drift_to(self, weights: np.ndarray, now: float) -> None:
        """Set ``weights`` to what the devices read at clock time ``now`` (s):
        w = w_programmed·((now − t_write)/t_0)^(−ν) where now − t_write > t_0."""
        if not self.drift.enabled:
            return
        age = now - self.written_at
        factor = np.where(age > self.drift.t_0, (np.maximum(age, self.drift.t_0) / self.drift.t_0) ** (-self.nu), 1.0)
        weights[...] = self.programmed * factor

    def state_arrays(self) -> dict[str, np.ndarray]:
        """What changes as the chip learns (the arrays themselves, for a checkpoint)."""
        return {"hidden": self.hidden, "programmed": self.programmed, "written_at": self.written_at,
                "generator": self.state}


class ReadNoiseSource:
    """The read noise of a chip's synapse arrays (:class:`~neurosim.devices.analog.ReadNoise`).

    Independent noise: one generator per phase. Shared noise: the samples of a step are a
    function of the batch and of the number of steps left to the end of its phase, so a
    weakly-clamped phase of T steps replays, step for step, the noise of the *last* T steps
    of its free phase: U0 and Uβ, which the update subtracts, are reached through the same
    noise (a phase that ends early because it settled is aligned to its ``max_steps``).
    """

    def __init__(self, read: ReadNoise, seed: int):
        self.read, self.seed = read, seed
        self.phases = np.zeros(1, dtype=np.int64)
        """Unclamped phases begun (a checkpoint keeps it): every one starts new samples."""
        self.rng: np.random.Generator | None = None
        self._phase, self._steps = "free", 0

    def _generator(self, *key: int) -> np.random.Generator:
        spawn = (zlib.crc32(b"read_noise"), int(self.phases[0]), *key)
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed, spawn_key=spawn)))

    def begin_phase(self, phase: str, steps: int = 0) -> None:
        """Before a phase of (at most) ``steps`` integration steps: an unclamped one (free,
        forward, backward) starts the samples of a new batch or test pass."""
        if not self.read.enabled:
            return
        self._phase, self._steps = phase, steps
        if not phase.startswith("weakly-clamped"):
            self.phases[0] += 1
        if not self.read.shared_between_phases:
            self.rng = self._generator(zlib.crc32(phase.encode()))
        else:
            self.at_step(0)

    def at_step(self, step: int) -> None:
        """Before integration step ``step`` of the phase: shared noise draws the samples of
        the step that many steps before the end of its phase."""
        if self.read.enabled and self.read.shared_between_phases:
            self.rng = self._generator(self._steps - step)

    def inputs(self, r: np.ndarray) -> np.ndarray:
        """Activations as the synapses receive them: r + inp_noise·ξ (r itself without input noise)."""
        if self.read.inp_noise == 0.0:
            return r
        return r + self.read.inp_noise * self._normal(r)

    def outputs(self, current: np.ndarray) -> None:
        """Add the output noise to summed currents in place: out_noise·ξ (relative: ·|I|)."""
        if self.read.out_noise == 0.0:
            return
        noise = self._normal(current)
        noise *= self.read.out_noise
        if self.read.out_noise_relative:
            noise *= np.abs(current)
        current += noise

    def _normal(self, like: np.ndarray) -> np.ndarray:
        if self.rng is None:
            self.begin_phase("free", 1)
        return self.rng.standard_normal(like.shape, dtype=like.dtype if like.dtype.kind == "f" else np.float64)


class Chip:
    """The analog side of a scenario's synapses: the device file's pulsed, read-noise, drift
    and timing sections, the scenario seed, and the chip's clock (s since it was made)."""

    def __init__(self, synapse: SynapseDevice, timing: Timing, seed: int):
        self.pulsed, self.drift, self.timing, self.seed = synapse.pulsed, synapse.drift, timing, seed
        self.noise = ReadNoiseSource(synapse.read, seed)
        self.clock = np.zeros(1, dtype=np.float64)
        """Time, s (an array, so that a checkpoint restores it in place)."""

    @classmethod
    def ideal(cls) -> Chip:
        return cls(SynapseDevice(), Timing(), 0)

    @property
    def now(self) -> float:
        return float(self.clock[0])

    def devices(self, shape: tuple[int, int], name: str, dtype, symmetric: bool = False) -> PulsedArray | None:
        """The pulsed devices of one weight array (None: an exact update)."""
        if self.pulsed is None:
            return None
        return PulsedArray(shape, self.pulsed, self.drift, self.seed, name, dtype, symmetric)

    def state_arrays(self) -> dict[str, np.ndarray]:
        return {"clock": self.clock, "read_noise_phases": self.noise.phases}
