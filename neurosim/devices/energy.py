"""Energy per hardware action: the table a device file carries, every figure with its source.

Each action the ledger counts (:mod:`neurosim.observe.ledger`) has an entry: an energy E₀ in
picojoules at a reference bit depth b₀, how it scales with the bit depth b of the signal
the action handles, and where the figure comes from:

    E(b) = E₀ · (b / b₀)^k,   k = 0 (``constant``), 1 (``linear``), 2 (``quadratic``).

Adders, comparators, memory reads and writes grow linearly with the word width;
array multipliers quadratically; an analog in-memory multiply-accumulate is quoted per
operation (``constant``). The bit depth b of an action is the precision of the
quantisation point it handles (:data:`ACTION_POINT`); an ideal (float) point counts as
the run's float width (32 bits for float32).

The defaults below model a digital CMOS datapath from the published 45 nm figures of
Horowitz (ISSCC 2014): 8-bit add 0.03 pJ, 8-bit multiply 0.2 pJ, 32-bit float multiply
3.7 pJ, 64-bit read from an 8 KB SRAM ≈ 10 pJ (0.156 pJ per bit); the ADC from the ISAAC
design (Shafiee et al., ISCA 2016): ≈ 0.8 pJ at 4 bits to ≈ 1.7 pJ at 8 bits per
conversion. Figures without a published source say ``assumption:`` in their source.
The analog device files override the multiply-accumulates with the in-memory figure of
IBM's 2023 phase-change chip (0.2–0.8 pJ per multiply-accumulate).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from neurosim.config.base import Section

SCALING_EXPONENT = {"constant": 0, "linear": 1, "quadratic": 2}


class EnergyEntry(Section):
    """Energy of one action: E(b) = pJ · (b / bits)^k with k from ``scaling``."""

    inline_in_docs: ClassVar[bool] = True

    pJ: float = Field(ge=0.0)
    """E₀, picojoules per action at the reference bit depth."""
    bits: int = Field(ge=1, le=64)
    """b₀, the bit depth at which E₀ holds."""
    scaling: Literal["constant", "linear", "quadratic"]
    """How E grows with the action's bit depth b: (b/b₀)^0, ^1 or ^2."""
    source: str = Field(min_length=1)
    """Where E₀ comes from (publication, or ``assumption:`` and the reasoning)."""

    def at(self, bits: int) -> float:
        """Energy in pJ of one action on a ``bits``-wide signal."""
        return self.pJ * (bits / self.bits) ** SCALING_EXPONENT[self.scaling]

    def summary(self) -> str:
        return f"{self.pJ:g} pJ at {self.bits} bits, {self.scaling}; {self.source}"


_HOROWITZ = "Horowitz, ISSCC 2014, 45 nm"
_ADD = EnergyEntry(pJ=0.03, bits=8, scaling="linear", source=f"{_HOROWITZ}: 8-bit integer add 0.03 pJ")
_MULTIPLY_ADD = EnergyEntry(pJ=0.23, bits=8, scaling="quadratic",
                            source=f"{_HOROWITZ}: 8-bit multiply 0.2 pJ + 8-bit add 0.03 pJ "
                                   "(quadratic scaling gives 3.68 pJ at 32 bits; 32-bit float multiply: 3.7 pJ)")
_COMPARE_TWICE = EnergyEntry(pJ=0.06, bits=8, scaling="linear",
                             source=f"{_HOROWITZ}: two comparisons, each an 8-bit add (0.03 pJ)")
_SRAM_READ = EnergyEntry(pJ=1.25, bits=8, scaling="linear",
                         source=f"{_HOROWITZ}: 64-bit read from an 8 KB SRAM ≈ 10 pJ, 0.156 pJ per bit")
_SRAM_WRITE = EnergyEntry(pJ=1.25, bits=8, scaling="linear",
                          source="assumption: an SRAM write costs the same as a read "
                                 f"({_HOROWITZ}: 10 pJ per 64 bits from 8 KB)")
_DAC = EnergyEntry(pJ=0.03, bits=8, scaling="linear",
                   source=f"assumption: a DAC conversion costs an 8-bit add ({_HOROWITZ}: 0.03 pJ)")
_PULSE = EnergyEntry(pJ=1.0, bits=8, scaling="constant",
                     source="assumption: 1 pJ per programming pulse, the order of magnitude of an analog ReRAM "
                            "partial-SET pulse (V²·G·t ≈ 5 pJ at 1.6 V, 20 µS, 100 ns: Gong et al., Nat. Commun. "
                            "2018); the device presets in devices/ give their technology's figure")
_ADC = EnergyEntry(pJ=1.7, bits=8, scaling="linear",
                   source="ISAAC, Shafiee et al., ISCA 2016: SAR ADC ≈ 1.7 pJ per 8-bit conversion, "
                          "≈ 0.8 pJ at 4 bits (linear scaling gives 0.85)")


class InputEnergy(Section):
    """Energies of the input drivers (one per input pixel)."""

    dac: EnergyEntry = _DAC
    """DAC driving a clamped input x_i onto its synapses."""


class NeuronEnergy(Section):
    """Energies of a neuron device's actions."""

    integrate: EnergyEntry = _MULTIPLY_ADD
    """One Euler step of the leaky integrator, s ← (1 − ε)s + εI."""
    adc: EnergyEntry = _ADC
    """ADC conversion of the summed input current (EP: every step; BP: the forward sum u)."""
    rho: EnergyEntry = _COMPARE_TWICE
    """Evaluation of the hard sigmoid ρ(s) = clip(s, 0, 1)."""
    rho_prime: EnergyEntry = _COMPARE_TWICE
    """Evaluation of the derivative ρ′(u) (is 0 < u < 1?)."""
    nudge: EnergyEntry = _MULTIPLY_ADD
    """The output neuron's cost nudge 2β(y − s) added to its current (weakly-clamped phase)."""
    dac: EnergyEntry = _DAC
    """DAC driving the neuron's value (state, stored activation or error) onto its synapses."""
    bias_read: EnergyEntry = _SRAM_READ
    """Read of the stored bias."""
    bias_write: EnergyEntry = _SRAM_WRITE
    """Write of the updated bias."""
    bias_accumulate: EnergyEntry = _ADD
    """Accumulating one example's bias change (Uβ − U0, or δ)."""
    write_u0: EnergyEntry = _SRAM_WRITE
    """EP: write of the U0 memory cell (end of the free phase)."""
    read_u0: EnergyEntry = _SRAM_READ
    """EP: read of the U0 memory cell."""
    write_ubeta: EnergyEntry = _SRAM_WRITE
    """EP: write of the Uβ memory cell (end of the weakly-clamped phase)."""
    read_ubeta: EnergyEntry = _SRAM_READ
    """EP: read of the Uβ memory cell."""
    write_activation: EnergyEntry = _SRAM_WRITE
    """BP: write of the stored activation ρ(u) (forward phase)."""
    read_activation: EnergyEntry = _SRAM_READ
    """BP: read of the stored activation."""
    write_error: EnergyEntry = _SRAM_WRITE
    """BP: write of the stored error δ (backward phase)."""
    read_error: EnergyEntry = _SRAM_READ
    """BP: read of the stored error."""


class SynapseEnergy(Section):
    """Energies of a synapse device's actions."""

    mac_forward: EnergyEntry = _MULTIPLY_ADD
    """Multiply-accumulate of the signal travelling from the lower-numbered layer to the
    higher (input → output); inside a layer, from the lower-numbered neuron."""
    mac_backward: EnergyEntry = _MULTIPLY_ADD
    """Multiply-accumulate in the other direction (output → input)."""
    weight_read: EnergyEntry = _SRAM_READ
    """Read of the stored weight (once per multiply-accumulate, and once in the update)."""
    weight_write: EnergyEntry = _SRAM_WRITE
    """Write of the updated weight."""
    update_mac: EnergyEntry = _MULTIPLY_ADD
    """One local product accumulated into the connection's ΔW (EP: two per example,
    ρ(Uβ_i)ρ(Uβ_j) and ρ(U0_i)ρ(U0_j); BP: one, ρ(u_i)δ_j)."""
    pulse: EnergyEntry = _PULSE
    """One programming pulse on one pulsed synapse (``synapse.pulsed``): a pulsed device is
    written by its pulses instead of ``weight_write``."""


class EnergyTable(Section):
    """Energy per action of the input drivers, neurons and synapses (see ``docs/energy.md``)."""

    input: InputEnergy = InputEnergy()
    neuron: NeuronEnergy = NeuronEnergy()
    synapse: SynapseEnergy = SynapseEnergy()

    def entry(self, device: str, action: str) -> EnergyEntry:
        return getattr(getattr(self, device), action)


ACTION_POINT: dict[tuple[str, str], str] = {
    ("input", "dac"): "synapse.activation",
    ("neuron", "integrate"): "neuron.state",
    ("neuron", "adc"): "neuron.current",
    ("neuron", "rho"): "neuron.state",
    ("neuron", "rho_prime"): "neuron.state",
    ("neuron", "nudge"): "neuron.current",
    ("neuron", "dac"): "synapse.activation",
    ("neuron", "bias_read"): "neuron.bias",
    ("neuron", "bias_write"): "neuron.bias",
    ("neuron", "bias_accumulate"): "neuron.bias_update",
    ("neuron", "write_u0"): "neuron.memory",
    ("neuron", "read_u0"): "neuron.memory",
    ("neuron", "write_ubeta"): "neuron.memory",
    ("neuron", "read_ubeta"): "neuron.memory",
    ("neuron", "write_activation"): "neuron.memory",
    ("neuron", "read_activation"): "neuron.memory",
    ("neuron", "write_error"): "neuron.error",
    ("neuron", "read_error"): "neuron.error",
    ("synapse", "mac_forward"): "synapse.weight",
    ("synapse", "mac_backward"): "synapse.weight",
    ("synapse", "weight_read"): "synapse.weight",
    ("synapse", "weight_write"): "synapse.weight",
    ("synapse", "update_mac"): "synapse.update",
    ("synapse", "pulse"): "synapse.weight",
}
"""The quantisation point (``device.point`` of the device file) whose bit depth is the
width of each action's signal, and so of the bits it moves and of its energy."""

ACTIONS: list[tuple[str, str]] = list(ACTION_POINT)
"""Every (device kind, action) the ledger counts, in report order."""
