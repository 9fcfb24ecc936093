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
    """A synapse whose conductance moves by programming pulses (``synapse.pulsed``).

    An update α·ΔW becomes n = |α·ΔW| / dw_min pulses of its sign (rounded as
    ``pulse_rounding`` says, at most ``max_pulses``); each pulse moves the weight of device
    i by a step that depends on the model and the weight w it finds:

    - ``constant_step``: up s⁺ᵢ, down s⁻ᵢ;
    - ``linear_step``: up s⁺ᵢ(1 − γ⁺ w/w_maxᵢ), down s⁻ᵢ(1 − γ⁻ w/w_minᵢ) (the step shrinks
      linearly towards the bound it moves to, by the factor 1 − γ there);
    - ``soft_bounds``: ``linear_step`` with γ⁺ = γ⁻ = 1 (the step ∝ distance to the bound);
    - ``power_step``: up s⁺ᵢ((w_maxᵢ − w)/(w_maxᵢ − w_minᵢ))^γ⁺, down
      s⁻ᵢ((w − w_minᵢ)/(w_maxᵢ − w_minᵢ))^γ⁻;

    with s⁺ᵢ = dwᵢ(1 + udᵢ), s⁻ᵢ = dwᵢ(1 − udᵢ), dwᵢ = dw_min(1 + dw_min_dtod·ξ),
    udᵢ = up_down + up_down_dtod·ξ, and every pulse's step multiplied by (1 + dw_min_std·ξ)
    (ξ standard normal: drawn once per device for ``*_dtod``, per pulse for ``dw_min_std``).
    After every pulse the weight is clipped to [w_minᵢ, w_maxᵢ], w_maxᵢ = w_max(1 +
    w_max_dtod·ξ), w_minᵢ = w_min(1 + w_min_dtod·ξ). Steps never change sign (a negative
    draw moves the weight by 0).
    """

    model: Literal["constant_step", "linear_step", "soft_bounds", "power_step"] = "constant_step"
    """How a pulse's step depends on the weight it finds (equations above)."""
    dw_min: float = Field(default=0.001, gt=0.0)
    """Mean weight change of one pulse, weight units (aihwkit ``dw_min``)."""
    dw_min_dtod: float = Field(default=0.0, ge=0.0)
    """Device-to-device standard deviation of dw_min, relative to dw_min."""
    dw_min_std: float = Field(default=0.0, ge=0.0)
    """Cycle-to-cycle (pulse-to-pulse) standard deviation of a step, relative to the step."""
    up_down: float = Field(default=0.0, gt=-1.0, lt=1.0)
    """Up/down asymmetry: up steps dw(1 + up_down), down steps dw(1 − up_down)."""
    up_down_dtod: float = Field(default=0.0, ge=0.0)
    """Device-to-device standard deviation of up_down (absolute)."""
    w_min: float = -1.0
    """Lower bound of the weight, weight units (the device's smallest conductance)."""
    w_max: float = 1.0
    """Upper bound of the weight, weight units."""
    w_min_dtod: float = Field(default=0.0, ge=0.0)
    """Device-to-device standard deviation of w_min, relative to |w_min|."""
    w_max_dtod: float = Field(default=0.0, ge=0.0)
    """Device-to-device standard deviation of w_max, relative to |w_max|."""
    gamma_up: float = Field(default=0.0, ge=0.0)
    """``linear_step``: the up step at w_max is (1 − gamma_up) of the step at 0;
    ``power_step``: the exponent γ⁺ of the up step."""
    gamma_down: float = Field(default=0.0, ge=0.0)
    """As ``gamma_up``, for down steps towards w_min."""
    write_noise_std: float = Field(default=0.0, ge=0.0)
    """Standard deviation of the noise on the weight read back after an update, relative to
    dw_min: the pulses move a hidden conductance; the weight the circuit sees is that plus
    write_noise_std·dw_min·ξ, drawn afresh whenever the device is written."""
    pulse_rounding: Literal["stochastic", "deterministic"] = "stochastic"
    """How |α·ΔW|/dw_min becomes a pulse count: ``deterministic`` to the nearest integer;
    ``stochastic`` down, plus one with probability equal to the fraction (unbiased)."""
    max_pulses: int = Field(default=31, ge=1)
    """Most pulses one update gives one device (aihwkit's bit-length ``desired_bl``): larger
    updates are cut to max_pulses·dw_min."""
    corrupt_devices_prob: float = Field(default=0.0, ge=0.0, le=1.0)
    """Fraction of the devices stuck at ``corrupt_devices_value`` for the whole run (drawn
    once per chip); they ignore every pulse."""
    corrupt_devices_value: Literal["w_min", "w_max", "zero"] = "zero"
    """Where a stuck device is stuck: its w_min, its w_max, or 0."""

    @model_validator(mode="after")
    def _bounds_bracket_zero(self) -> PulsedUpdate:
        if not self.w_min < 0.0 < self.w_max:
            raise ValueError(f"the weight range [w_min, w_max] = [{self.w_min}, {self.w_max}] must contain 0 inside")
        if self.model in ("linear_step",) and (self.gamma_up > 1 or self.gamma_down > 1):
            raise ValueError("linear_step: gamma_up and gamma_down above 1 would reverse the step before the bound")
        return self


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
    """True: the weakly-clamped phase sees, step for step, the same noise samples as the
    free phase of its batch (as a slow noise source would); False: independent samples.
    EP divides the difference of the two phases by β, so independent noise adds a term
    ∝ 1/β to the update."""

    @property
    def enabled(self) -> bool:
        return self.out_noise > 0.0 or self.inp_noise > 0.0


class Drift(Section):
    """Conductance drift after programming (``synapse.drift``), as in phase-change memory:
    a device written at time t_w reads w(t) = w(t_w)·((t − t_w)/t_0)^(−νᵢ) once t − t_w > t_0
    (unchanged before), with νᵢ = nu + nu_dtod·ξ drawn once per device (clipped at 0)."""

    nu: float = Field(default=0.0, ge=0.0)
    """Drift exponent ν (dimensionless)."""
    nu_dtod: float = Field(default=0.0, ge=0.0)
    """Device-to-device standard deviation of ν (absolute)."""
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
