"""The ``trace`` section of a scenario: which device banks to record, how often, and for which
epochs, batches and examples, in the selection syntax ``[3, "10:20", "::5"]``.

:mod:`neurosim.observe.tracing` follows these rules while a run trains; the layout of what it
writes is ``docs/tracing.md``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from neurosim.config.base import KeyedValueError, Section

Bank = Literal["state", "memory", "u0", "ubeta", "ubeta_neg", "activation", "error", "bias", "weights", "delta_w"]
Cadence = Literal["step", "phase_end", "update", "epoch"]

CADENCES_OF_BANK: dict[str, tuple[str, ...]] = {
    "state": ("step", "phase_end"),
    "memory": ("phase_end", "update"),
    "u0": ("phase_end", "update"),
    "ubeta": ("phase_end", "update"),
    "ubeta_neg": ("phase_end", "update"),
    "activation": ("phase_end", "update"),
    "error": ("phase_end", "update"),
    "bias": ("update", "epoch"),
    "weights": ("update", "epoch"),
    "delta_w": ("update",),
}
"""The cadences at which each bank holds a meaningful value (see ``docs/tracing.md``)."""


def parse_selection(entries: list | None, where: str) -> list[int | slice] | None:
    """``[3, "10:20", "::5"]`` → ``[3, slice(10, 20), slice(None, None, 5)]``; None means all.

    Each entry is one non-negative index or a Python-style range ``start:stop[:step]``
    (stop excluded, either end may be omitted).
    """
    if entries is None:
        return None
    if not isinstance(entries, list):
        raise ValueError(f"{where} must be a list of indices and 'start:stop[:step]' ranges, or null for all")
    out: list[int | slice] = []
    for i, entry in enumerate(entries):
        if isinstance(entry, int) and not isinstance(entry, bool):
            if entry < 0:
                raise KeyedValueError((i,), f"index {entry} is negative")
            out.append(entry)
            continue
        parts = entry.split(":") if isinstance(entry, str) else []
        if not 2 <= len(parts) <= 3 or not all(p.strip().isdigit() or not p.strip() for p in parts):
            raise KeyedValueError((i,), f"{entry!r} is neither an index nor a range 'start:stop[:step]'")
        start, stop, *step = [int(p) if p.strip() else None for p in parts]
        if step and step[0] == 0:
            raise KeyedValueError((i,), "range step must be ≥ 1")
        out.append(slice(start, stop, step[0] if step else None))
    return out


def selected(selection: list[int | slice] | None, index: int) -> bool:
    """Whether ``index`` lies in a selection made by :func:`parse_selection`."""
    if selection is None:
        return True
    for entry in selection:
        if isinstance(entry, int):
            if entry == index:
                return True
        elif index >= (entry.start or 0) and (entry.stop is None or index < entry.stop) \
                and (index - (entry.start or 0)) % (entry.step or 1) == 0:
            return True
    return False


class TraceRecord(Section):
    """One waveform-dump rule: which banks to sample, how often, and for which epochs, batches and examples."""

    banks: list[Bank] = Field(min_length=1)
    """Device banks to record: ``state`` (neuron states s); ``memory`` (every memory cell the
    datapath declares: EP's U0 and Uβ, written as ``u0`` and ``ubeta``; backprop's
    ``activation`` and ``error`` δ; DEEP's U0), or one cell by name (``u0``, ``ubeta``,
    ``activation``, ``error``; a cell the datapath lacks is refused); ``bias`` (biases b;
    not on a directed graph, whose biases are the bias row of its weights); ``weights``
    (synapse weights W, one block per layer pair, ``W`` for a directed graph); ``delta_w``
    (the correction ΔW the update phase applied, before the learning rate)."""
    cadence: Cadence = "phase_end"
    """When to sample: ``step`` after every integration step (state only); ``phase_end`` at
    the end of every phase but the update (the state, and the memory cell that phase
    writes: U0 after the free, Uβ after the weakly-clamped phase; backprop's activation
    after the forward, error after the backward pass); ``update`` after each update phase
    (memory cells, bias, weights, delta_w); ``epoch`` after each epoch's test pass, plus
    once before training (bias, weights)."""
    epochs: Any = None
    """Epochs to record (0-based): a list of indices and ``"start:stop[:step]"`` ranges, stop
    excluded, e.g. ``[0, "9:250:10"]``; null for every epoch."""
    batches: Any = None
    """Training batches of a recorded epoch (0-based), same syntax as ``epochs``; null for
    every batch. Not used with cadence ``epoch``. Test batches are never traced."""
    samples: Any = None
    """Examples of the batch whose neuron banks (state, memory cells) are recorded, as indices
    into the batch (same syntax); null for all. Rows past the end of a short last batch
    hold NaN."""

    @field_validator("epochs", "batches", "samples")
    @classmethod
    def _valid_selection(cls, value: Any, info) -> Any:
        parse_selection(value, info.field_name)
        return value

    @model_validator(mode="after")
    def _banks_fit_cadence(self) -> TraceRecord:
        for i, bank in enumerate(self.banks):
            if self.cadence not in CADENCES_OF_BANK[bank]:
                allowed = ", ".join(CADENCES_OF_BANK[bank])
                raise KeyedValueError(("banks", i), f"bank {bank!r} cannot be sampled at cadence "
                                      f"{self.cadence!r} (allowed: {allowed})")
            if bank in self.banks[:i]:
                raise KeyedValueError(("banks", i), f"bank {bank!r} listed twice")
        if self.cadence == "epoch" and self.batches is not None:
            raise KeyedValueError(("batches",), "cadence 'epoch' samples once per epoch; remove 'batches'")
        return self


def _default_records() -> list[TraceRecord]:
    return [TraceRecord(banks=["state", "memory"], cadence="phase_end", batches=[0]),
            TraceRecord(banks=["weights"], cadence="epoch")]


class TraceConfig(Section):
    """Device-state traces written to the run file under ``/trace`` (layout: ``docs/tracing.md``).

    The default records the phase-end neuron states and memory cells of the first batch
    of every epoch, and every synapse weight after every epoch: small enough to leave on.
    """

    enabled: bool = True
    """Write traces at all."""
    records: list[TraceRecord] = Field(default_factory=_default_records)
    """The recording rules. A bank may appear at a given cadence in one rule only."""

    @model_validator(mode="after")
    def _one_rule_per_bank_and_cadence(self) -> TraceConfig:
        seen: dict[tuple[str, str], int] = {}
        for r, record in enumerate(self.records):
            for b, bank in enumerate(record.banks):
                key = (bank, record.cadence)
                if key in seen:
                    raise KeyedValueError(("records", r, "banks", b), f"bank {bank!r} at cadence "
                                          f"{record.cadence!r} is already recorded by records[{seen[key]}]")
                seen[key] = r
        return self
