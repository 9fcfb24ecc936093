"""The analog non-idealities of a device file: pulsed conductance updates, read noise, drift, timing.

Parameter names follow IBM's aihwkit (``dw_min``, ``up_down``, ``w_max_dtod``, ``out_noise``,
``nu``, …) so that a designer can carry numbers over; each field's docstring gives its
equation and unit, and ``docs/devices.md`` is generated from them. Weights are in the
network's weight units (a conductance normalised so that ``w_max`` is the largest the
device holds). Every random draw derives from the scenario's seed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from neurosim.config.base import Section


class PulsedUpdate(Section):
    """A synapse whose conductance moves by programming pulses (``synapse.pulsed``), as
    aihwkit's pulsed devices do (its C++ simulator, where docstring and code differ).

    An update α·ΔW becomes n = |α·ΔW|/ε pulses of its sign (rounded as ``pulse_rounding``
    says, at most ``max_pulses``), ε = dw_min (``power_step``: dw_min·0.5^pow_gamma, the
    step at mid-range). Each pulse moves the weight w of device i by

    - ``constant_step``: up s⁺ᵢ, down s⁻ᵢ;
    - ``linear_step``: up s⁺ᵢ(1 − γ⁺ w/w_max), down s⁻ᵢ(1 − γ⁻ w/w_min) (the mean bounds:
      the step shrinks linearly towards the bound it moves to, to (1 − γ) of it there);
    - ``soft_bounds``: up s⁺ᵢ(1 − w/w_maxᵢ), down s⁻ᵢ(1 − w/w_minᵢ) (the device's own
      bounds: the step ∝ the distance to them);
    - ``power_step``: up s⁺ᵢ ω^γ⁺ᵢ, down s⁻ᵢ (1 − ω)^γ⁻ᵢ, ω = (w_maxᵢ − w)/(w_maxᵢ − w_minᵢ),
      γ⁺ᵢ = pow_gamma·|hᵢ + min(pow_up_down, 0)|, γ⁻ᵢ = pow_gamma·|hᵢ + min(−pow_up_down, 0)|,
      hᵢ = 1 + pow_gamma_dtod·ξ;

    times (1 + dw_min_std·ξ) per pulse (``mult_noise``; else plus s·dw_min_std·ξ), a step
    that may reverse; the weight is then clipped to [w_minᵢ, w_maxᵢ]. Per device (drawn once
    when the chip is made, ξ standard normal): gᵢ = 1 + dw_min_dtod·ξ, rᵢ = up_down_dtod·ξ,
    s⁺ᵢ = dw_min·|gᵢ + min(up_down, 0) + rᵢ|, s⁻ᵢ = dw_min·|gᵢ + min(−up_down, 0) − rᵢ|
    (``up_down`` > 0 shrinks the down step, < 0 the up step, as in aihwkit),
    w_maxᵢ = |w_max(1 + w_max_dtod·ξ)|, w_minᵢ = −|w_min(1 + w_min_dtod·ξ)|.
    """

    model: Literal["constant_step", "linear_step", "soft_bounds", "power_step"] = "constant_step"
    """How a pulse's step depends on the weight it finds (equations above)."""
    dw_min: float = Field(default=0.001, gt=0.0)
    """Mean weight change of one pulse at w = 0, weight units (aihwkit ``dw_min``)."""
    dw_min_dtod: float = Field(default=0.0, ge=0.0)
    """Device-to-device standard deviation of the step, relative to dw_min (one gain per
    device, shared by both directions)."""
    dw_min_std: float = Field(default=0.0, ge=0.0)
    """Cycle-to-cycle (pulse-to-pulse) standard deviation of a step, relative to it."""
    mult_noise: bool = True
    """The pulse-to-pulse noise multiplies the weight-dependent step (True) or is added with
    the std dw_min_std·s, independent of the weight (False, aihwkit's ReRAM presets)."""
    up_down: float = Field(default=0.0, gt=-1.0, lt=1.0)
    """Up/down asymmetry, one-sided: > 0 makes the down step dw_min(1 − up_down), < 0 the up
    step dw_min(1 + up_down), the other unchanged."""
    up_down_dtod: float = Field(default=0.0, ge=0.0)
    """Device-to-device standard deviation of the asymmetry, in units of dw_min: + to the up
    step, − to the down step."""
    w_min: float = -0.6
    """Lower bound of the weight, weight units (the device's smallest conductance; aihwkit's default)."""
    w_max: float = 0.6
    """Upper bound of the weight, weight units (aihwkit's default)."""
    w_min_dtod: float = Field(default=0.0, ge=0.0)
    """Device-to-device standard deviation of w_min, relative to |w_min|."""
    w_max_dtod: float = Field(default=0.0, ge=0.0)
    """Device-to-device standard deviation of w_max, relative to |w_max|."""
    gamma_up: float = Field(default=0.0, ge=0.0)
    """``linear_step``: the up step at w_max is (1 − gamma_up) of the step at 0."""
    gamma_down: float = Field(default=0.0, ge=0.0)
    """``linear_step``: the down step at w_min is (1 − gamma_down) of the step at 0."""
    pow_gamma: float = Field(default=1.0, gt=0.0)
    """``power_step``: the exponent of the distance to the bound."""
    pow_gamma_dtod: float = Field(default=0.0, ge=0.0)
    """``power_step``: device-to-device standard deviation of pow_gamma, relative."""
    pow_up_down: float = Field(default=0.0, gt=-1.0, lt=1.0)
    """``power_step``: one-sided asymmetry of the exponents, as ``up_down`` of the steps."""
    write_noise_std: float = Field(default=0.0, ge=0.0)
    """Standard deviation of the noise on the weight read back after an update, relative to
    dw_min: the pulses move a hidden conductance; the weight the circuit sees is that plus
    write_noise_std·dw_min·ξ, drawn afresh whenever the device is written."""
    pulse_rounding: Literal["stochastic", "deterministic"] = "stochastic"
    """How |α·ΔW|/ε becomes a pulse count: ``deterministic`` to the nearest integer;
    ``stochastic`` down, plus one with probability equal to the fraction (unbiased). The
    whole batch's update is written at once (aihwkit pulses every example instead, with a
    Binomial count of the same mean)."""
    max_pulses: int = Field(default=31, ge=1)
    """Most pulses one update gives one device (aihwkit's bit length ``desired_bl``): a larger
    update is cut to max_pulses·ε."""
    corrupt_devices_prob: float = Field(default=0.0, ge=0.0, le=1.0)
    """Fraction of the devices stuck for the whole run (drawn once per chip); they ignore every pulse."""
    corrupt_devices_value: Literal["w_min", "w_max", "zero", "random"] = "random"
    """Where a stuck device is stuck: its w_min, its w_max, 0, or (aihwkit's) a value drawn
    uniformly in [max(w_minᵢ, −R), min(w_maxᵢ, R)], R = ``corrupt_devices_range``."""
    corrupt_devices_range: float = Field(default=0.1, gt=0.0)
    """R of ``corrupt_devices_value: random``, weight units (aihwkit's default)."""

    @model_validator(mode="after")
    def _bounds_bracket_zero(self) -> PulsedUpdate:
        if not self.w_min < 0.0 < self.w_max:
            raise ValueError(f"the weight range [w_min, w_max] = [{self.w_min}, {self.w_max}] must contain 0 inside")
        if self.model == "linear_step" and (self.gamma_up > 1 or self.gamma_down > 1):
            raise ValueError("linear_step: gamma_up and gamma_down above 1 would reverse the step before the bound")
        return self

    @property
    def granularity(self) -> float:
        """ε, the weight change one pulse counts for when an update becomes pulses."""
        return self.dw_min * 0.5 ** self.pow_gamma if self.model == "power_step" else self.dw_min


class ReadNoise(Section):
    """Noise on what the synapse arrays carry, drawn at every integration step (``synapse.read``)."""

    out_noise: float = Field(default=0.0, ge=0.0)
    """Standard deviation of the additive Gaussian noise on every neuron's summed synaptic
    current, current units (a fully driven activation 1 through weight 1 gives 1); with
    ``out_noise_relative``, relative to the current's magnitude."""
    out_noise_relative: bool = False
    """``out_noise`` is relative: std = out_noise·|I|."""
    inp_noise: float = Field(default=0.0, ge=0.0)
    """Standard deviation of the additive Gaussian noise on every activation (and clamped
    input) driven onto the synapses, state units."""
    shared_between_phases: bool = False
    """True: a weakly-clamped phase of T steps sees, step for step, the noise samples of the
    last T steps of its batch's free phase, so the states the update subtracts, U0 and Uβ,
    were reached through the same noise; False: independent samples. EP divides the
    difference of the two phases by β, so independent noise adds a term ∝ 1/β to the
    update."""

    @property
    def enabled(self) -> bool:
        return self.out_noise > 0.0 or self.inp_noise > 0.0


class Drift(Section):
    """Conductance drift after programming (``synapse.drift``), as in phase-change memory:
    a device written at time t_w reads w(t) = w(t_w)·((t − t_w)/t_0)^(−νᵢ) once t − t_w > t_0
    (unchanged before), with νᵢ = |nu·(1 + nu_dtod·ξ)| drawn once per device (aihwkit's
    training drift; its PCM inference model also makes ν depend on the conductance and adds
    1/f read noise, which this model does not)."""

    nu: float = Field(default=0.0, ge=0.0)
    """Drift exponent ν (dimensionless)."""
    nu_dtod: float = Field(default=0.0, ge=0.0)
    """Device-to-device standard deviation of ν, relative to nu."""
    t_0: float = Field(default=20.0, gt=0.0)
    """Reference time t_0 after a write, s: drift starts after it."""

    @property
    def enabled(self) -> bool:
        return self.nu > 0.0 or self.nu_dtod > 0.0


class Timing(Section):
    """How long the circuits take (``timing``): every phase gets a latency in seconds, and
    drift follows this clock."""

    step_seconds: float = Field(default=1.0e-8, gt=0.0)
    """Time of one integration step of the neuron circuits, s."""
    pulse_seconds: float = Field(default=1.0e-7, gt=0.0)
    """Duration of one programming pulse, s. Pulses reach all devices in parallel, so an
    update lasts (the most pulses any device receives) × pulse_seconds; an update without
    pulsed devices lasts one pulse."""
