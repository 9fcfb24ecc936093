"""Device specification files: the precision of every signal a chip's neurons and synapses hold.

A device file (``devices/*.yaml``) names one quantisation point per stored or communicated
signal, grouped by the device that holds it. Every point is ``ideal`` (float, the default)
or a uniform fixed-point quantiser (:mod:`neurosim.devices.quantize`) with a bit depth, a range and
a rounding mode. ``docs/devices.md`` is generated from the declarations below.

A scenario refers to a device file with ``devices: PATH`` (relative to the scenario file)
and may change single fields with ``device_overrides`` (see :func:`resolve_devices`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from neurosim.config.base import Section, config_errors, read_yaml, set_key
from neurosim.devices.analog import Drift, PulsedUpdate, ReadNoise, Timing
from neurosim.devices.energy import EnergyTable
from neurosim.errors import ConfigError
from neurosim.devices.quantize import Quantiser


class _Precision(Section):
    bits: int | None = Field(default=None, ge=1, le=24)
    """Bit depth b: exactly 2^b levels. ``null`` (the default) makes the point ideal (float)."""
    rounding: Literal["nearest", "stochastic", "truncate"] = "nearest"
    """How a value between two levels is written: ``nearest`` (halves up), ``truncate``
    (towards −∞) or ``stochastic`` (up with probability equal to the fraction of a step,
    unbiased; random numbers from the scenario seed's ``stochastic_rounding`` stream)."""

    @model_validator(mode="after")
    def _range_is_ordered(self):
        lo, hi = self.range
        if not lo < hi:
            raise ValueError(f"range [{lo}, {hi}] is inverted or empty: give [low, high] with low < high")
        return self

    def quantiser(self, seed: int, name: str) -> Quantiser:
        """The quantiser this precision describes (stochastic stream ``stochastic_rounding:name``)."""
        lo, hi = self.range
        return Quantiser(self.bits, lo, hi, self.rounding, isinstance(self, SignedPrecision), seed, name)


class UnsignedPrecision(_Precision):
    """Precision of a non-negative signal: the closed range [low, high], both ends levels,
    step Δ = (high − low)/(2^b − 1); values outside saturate at the ends."""

    range: list[float] = Field(default=[0.0, 1.0], min_length=2, max_length=2)
    """[low, high]: the first and the last level."""


class SignedPrecision(_Precision):
    """Precision of a signed signal: two's-complement fixed point on a symmetric range
    [−m, m), step Δ = 2m/2^b, levels −m, −m + Δ, …, 0, …, m − Δ (0 is always a level);
    values outside saturate at −m and m − Δ."""

    range: list[float] = Field(default=[-1.0, 1.0], min_length=2, max_length=2)
    """[−m, m]: symmetric about 0; the levels run from −m to m − Δ."""

    @model_validator(mode="after")
    def _range_is_symmetric(self):
        lo, hi = self.range
        if lo < hi and lo != -hi:
            raise ValueError(f"range [{lo}, {hi}] of a signed point must be symmetric, [-m, m]")
        return self


class CurrentPrecision(SignedPrecision):
    """Precision of the summed input current: signed, as above, on [−4, 4) unless given."""

    range: list[float] = Field(default=[-4.0, 4.0], min_length=2, max_length=2)
    """[−m, m]: symmetric about 0, in units of the neuron's input (a fully driven ρ = 1 times
    weight 1 gives 1)."""


class SynapseDevice(Section):
    """Quantisation points of a synapse device (one per connection)."""

    weight: SignedPrecision = SignedPrecision()
    """Stored weight W. Initial weights are written through it; after every update the
    stored value is re-quantised (saturating at the range ends)."""
    update: SignedPrecision = SignedPrecision()
    """The weight change α·ΔW the update circuit can write in one update phase (the
    learning rate already applied): W ← q_W(W + q_ΔW(α·ΔW)). With ``nearest`` rounding
    an α·ΔW smaller than half a step is lost."""
    activation: UnsignedPrecision = UnsignedPrecision()
    """The DAC that drives a neuron's activation ρ(s) (and a clamped input x) onto its
    synapses; the currents are computed from the quantised value."""
    pulsed: PulsedUpdate | None = None
    """An analog synapse whose conductance moves by programming pulses (equations in
    :class:`~neurosim.devices.analog.PulsedUpdate`); ``null`` (the default): the update is
    written exactly, through the ``weight`` and ``update`` points. The pulse step is then
    the weight's resolution, so ``weight`` and ``update`` must stay ideal."""
    read: ReadNoise = ReadNoise()
    """Read noise on the currents the synapse arrays carry (default: none)."""
    drift: Drift = Drift()
    """Conductance drift after programming (default: none; needs ``pulsed``)."""

    @model_validator(mode="after")
    def _pulses_are_the_resolution(self) -> SynapseDevice:
        if self.pulsed is not None and (self.weight.bits is not None or self.update.bits is not None):
            raise ValueError("a pulsed synapse has the pulse step as its resolution: leave synapse.weight and "
                             "synapse.update ideal (bits: null)")
        if self.drift.enabled and self.pulsed is None:
            raise ValueError("drift needs a pulsed synapse (synapse.pulsed): it ages what the pulses wrote")
        return self

    def precision_points(self) -> dict[str, _Precision]:
        """The quantisation points by name."""
        return {"weight": self.weight, "update": self.update, "activation": self.activation}


class NeuronDevice(Section):
    """Quantisation points of a neuron device (one per non-input neuron)."""

    bias: SignedPrecision = SignedPrecision()
    """Stored bias b, re-quantised after every update."""
    bias_update: SignedPrecision = SignedPrecision()
    """The bias change α·Δb written in one update phase: b ← q_b(b + q_Δb(α·Δb))."""
    current: CurrentPrecision = CurrentPrecision()
    """The ADC reading the summed input current Σ W ρ(u) + b at every integration step
    (the output neurons' clamping nudge is added after it)."""
    state: UnsignedPrecision = UnsignedPrecision()
    """The integrator's state s after every integration step (s ∈ [0, 1])."""
    memory: UnsignedPrecision = UnsignedPrecision()
    """The memory cells U0 and Uβ written at the end of the free and the weakly-clamped
    phase; the clamped phase starts from the stored U0, and the update reads both. In the
    backprop datapath: the cell holding the activation ρ(u) of the forward pass."""
    error: SignedPrecision = SignedPrecision()
    """BP only: the error memory cell δ written in the backward pass (the cell EP uses for
    Uβ, but holding a signed value); the δ sent backwards through the synapses and read by
    the update is the stored one. δ_L = ρ'(u)(ρ(u) − y) lies in [−1, 1]; hidden errors are
    usually far smaller. Unused by EP."""


class DeviceSpec(Section):
    """A chip's neuron and synapse devices: the precision of every quantisation point."""

    name: str = "ideal"
    """Short name of the device set, e.g. ``analog-4bit``."""
    description: str = ""
    """Free text: what the devices model."""
    synapse: SynapseDevice = SynapseDevice()
    neuron: NeuronDevice = NeuronDevice()
    energy: EnergyTable = EnergyTable()
    """Energy per action for the ledger's reports (``docs/energy.md``): give only the
    entries that differ from the defaults, each a full entry with its source."""
    timing: Timing = Timing()
    """How long an integration step and a programming pulse take: every phase's latency,
    and the clock that drift follows."""

    @property
    def ideal(self) -> bool:
        """True when every point is ideal and the synapses are exact and noiseless (the float
        simulation, bit for bit)."""
        points = [*self.synapse.precision_points().values(), *dict(self.neuron).values()]
        return (all(point.bits is None for point in points) and self.synapse.pulsed is None
                and not self.synapse.read.enabled)


@dataclass
class Quantisers:
    """The quantisers of one network, built from a :class:`DeviceSpec` and the scenario seed."""

    weight: Quantiser
    update: Quantiser
    activation: Quantiser
    bias: Quantiser
    bias_update: Quantiser
    current: Quantiser
    state: Quantiser
    memory: Quantiser
    error: Quantiser

    @classmethod
    def build(cls, spec: DeviceSpec, seed: int) -> Quantisers:
        points = {**spec.synapse.precision_points(), **dict(spec.neuron)}
        return cls(**{name: precision.quantiser(seed, name) for name, precision in points.items()})

    @classmethod
    def ideal(cls) -> Quantisers:
        return cls.build(DeviceSpec(), 0)


def _flatten(mapping: dict, prefix: str = "") -> dict[str, Any]:
    """``{"synapse": {"weight": {"bits": 3}}}`` → ``{"synapse.weight.bits": 3}``."""
    flat = {}
    for key, value in mapping.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def validate_spec(content: dict, file: str | None, key_prefix: str = "") -> DeviceSpec:
    """Validate a device mapping; errors name ``file`` and the key path (after ``key_prefix``)."""
    try:
        return DeviceSpec.model_validate(content)
    except ValidationError as exc:
        err = config_errors(exc, DeviceSpec, None)
        if key_prefix:
            below = err.key_path if err.key_path.startswith("[") or not err.key_path else "." + err.key_path
            raise ConfigError(file, key_prefix.rstrip(".") + below, err.reason) from None
        raise config_errors(exc, DeviceSpec, file) from None


def load_devices(path: str | Path) -> DeviceSpec:
    """Read and validate a device specification file."""
    return validate_spec(read_yaml(path), str(path))


def resolve_devices(devices: Any, overrides: Any, file: str | None, base_dir: Path | None) -> dict:
    """A scenario's ``devices`` (a path or an inline mapping) with ``device_overrides`` applied,
    validated, as a plain mapping.

    Overrides are dotted key paths (``synapse.weight.bits: 3``) or the same as nested
    mappings; an error in the device file names that file, an error an override causes
    names the scenario file and ``device_overrides.KEY.PATH``.
    """
    if devices is None:
        content: dict = {}
    elif isinstance(devices, str):
        path = Path(devices) if base_dir is None else base_dir / devices
        content = read_yaml(path)
        validate_spec(content, str(path))
    elif isinstance(devices, dict):
        content = devices
        validate_spec(content, file, "devices.")
    else:
        raise ConfigError(file, "devices", f"must be a device file path or a mapping, got {type(devices).__name__}")
    if overrides is None:
        return validate_spec(content, file).model_dump(mode="json")
    if not isinstance(overrides, dict):
        raise ConfigError(file, "device_overrides", "must be a mapping of key paths to values")
    merged = DeviceSpec.model_validate(content).model_dump(mode="json")
    for key, value in _flatten(overrides).items():
        try:
            set_key(merged, key, value)
        except ConfigError as exc:
            raise ConfigError(file, f"device_overrides.{exc.key_path}", exc.reason) from None
    return validate_spec(merged, file, "device_overrides.").model_dump(mode="json")
