"""Scenario files: the YAML schema of an experiment, validated into typed, frozen records.

Every field is declared once below with its default and a docstring stating its meaning,
unit and range; ``docs/scenario.md`` is written from the same declarations. Loading never
half-succeeds: an unknown key, a wrong type or an out-of-range value raises
:class:`~neurosim.errors.ConfigError` naming the file, the key path and the reason.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from neurosim.config import Section, config_errors, parse_override, read_yaml, set_key  # noqa: F401 (re-exported)
from neurosim.device_spec import DeviceSpec, resolve_devices


class DataConfig(Section):
    """Where the examples come from and how they are split."""

    source: Literal["embedded", "idx"] = "embedded"
    """``embedded``: the 10,000 MNIST digits shipped inside the package; ``idx``: the
    standard IDX files (``train-images-idx3-ubyte`` etc., optionally gzipped) in ``path``."""
    path: str | None = None
    """Directory holding the IDX files (``source: idx`` only); relative to the scenario file."""
    train_size: int | None = Field(default=None, ge=1)
    """Number of training examples. Embedded data: the first ``train_size`` digits
    (default 8,000). IDX data: the first ``train_size`` of the training files (default all)."""
    test_size: int | None = Field(default=None, ge=1)
    """Number of test examples. Embedded data: the last ``test_size`` digits (default
    2,000). IDX data: the first ``test_size`` of the t10k files (default all)."""

    @model_validator(mode="after")
    def _path_matches_source(self) -> DataConfig:
        if self.source == "idx" and self.path is None:
            raise ValueError("source 'idx' needs 'path', the directory holding the IDX files")
        if self.source == "embedded" and self.path is not None:
            raise ValueError("'path' is only used with source 'idx'")
        return self


class TopologyConfig(Section):
    """Neuron groups and their symmetric connectivity (paper §3, Algorithm 1)."""

    sizes: list[int] = Field(min_length=2)
    """Neurons per layer, input first and output last, e.g. ``[784, 500, 500, 500, 10]``."""
    kind: Literal["layered", "layer_skipping"] = "layered"
    """``layered``: every pair of neurons in adjacent layers connected (paper Figure 1).
    ``layer_skipping``: hidden layers made all-to-all, then ``n`` random connections
    rewired (paper Algorithm 1, Figure 2)."""
    p: float | None = Field(default=None, ge=0.0, lt=1.0)
    """Layer-skipping only: fraction of rewired connections; converted to the number of
    replacements with p = 1 − ((N_o − 1)/N_o)^n, N_o the connection count after adding
    the intralayer connections. Give ``p`` or ``n``, not both."""
    n: int | None = Field(default=None, ge=0)
    """Layer-skipping only: number of connections rewired by Algorithm 1."""
    mode: Literal["replace", "add"] = "replace"
    """Layer-skipping only: ``replace`` removes a random existing connection for every one
    added (Algorithm 1); ``add`` only adds (the variant the paper mentions in §3.3)."""
    nonadjacent_init: float = Field(default=0.05, gt=0.0)
    """Half-width of the uniform distribution U[−a, a] that initialises every connection
    between non-adjacent layers and inside a layer (the paper's 0.05). Connections between
    adjacent layers are Glorot-uniform."""

    @field_validator("sizes")
    @classmethod
    def _positive_sizes(cls, sizes: list[int]) -> list[int]:
        for i, size in enumerate(sizes):
            if size < 1:
                raise ValueError(f"layer {i} has {size} neurons; every layer needs at least 1")
        return sizes

    @model_validator(mode="after")
    def _rewiring_matches_kind(self) -> TopologyConfig:
        if self.kind == "layered" and (self.p is not None or self.n is not None):
            raise ValueError("'p' and 'n' apply only to kind 'layer_skipping'")
        if self.kind == "layer_skipping":
            if (self.p is None) == (self.n is None):
                raise ValueError("kind 'layer_skipping' needs exactly one of 'p' or 'n'")
            if len(self.sizes) < 3:
                raise ValueError("kind 'layer_skipping' needs at least one hidden layer")
        return self


class DynamicsConfig(Section):
    """Leaky-integrator neuron dynamics (paper eq. 5, discretised)."""

    epsilon: float = Field(default=0.5, gt=0.0, le=1.0)
    """Integration step ε (dimensionless, in units of the neuron time constant):
    s ← clip((1 − ε)s + ε(Wρ(u) + b), 0, 1)."""
    beta: float = Field(default=1.0, gt=0.0)
    """Clamping factor β of the weakly-clamped phase (magnitude; its sign may be random)."""
    t_free: int = Field(default=500, ge=1)
    """Integration steps of the free phase."""
    t_clamped: int = Field(default=8, ge=1)
    """Integration steps of the weakly-clamped phase."""
    random_beta_sign: bool = True
    """Draw the sign of β at random for every batch (paper §3), else always +β."""


LearningRate = float | list[float] | dict[str, float]


class TrainingConfig(Section):
    """Epochs, batches and learning rates."""

    epochs: int = Field(default=1, ge=1)
    """Number of passes over the training set."""
    batch_size: int = Field(default=20, ge=1)
    """Examples per mini-batch; ΔW and Δb are averaged over a batch."""
    learning_rate: Any = 0.02
    """One global rate α (a number); or per layer pair: a list with one rate per pair of
    adjacent layers, input side first (the paper's ``[0.128, 0.032, 0.008, 0.002]``), or a
    mapping from pair names (``"0-1"``, ``"1-2"``, ``"1-1"``, ``"0-2"``) to rates, which
    must name every adjacent pair and may name others. Biases of layer l take the rate of
    pair (l−1)-l."""
    nonadjacent_rate: Literal["lower", "upper", "geometric"] = "geometric"
    """With per-layer rates, the rate of a pair not named explicitly (intralayer or skip):
    ``lower`` the rate of the adjacent pair starting at its lower layer a, i.e. a-(a+1);
    ``upper`` the rate of the adjacent pair ending at its upper layer b, i.e. (b−1)-b;
    ``geometric`` the geometric mean of the adjacent rates spanned (for an intralayer pair
    l-l, of (l−1)-l and l-(l+1))."""
    shuffle: bool = False
    """Reshuffle the training order every epoch (the paper does not). Persistent particles
    are kept per example, so they follow the examples either way."""
    persistent_particles: bool = True
    """Start each example's free phase from its free equilibrium of the previous epoch
    (paper §3); else from zero."""
    dtype: Literal["float32", "float64"] = "float32"
    """Floating-point type of states, weights and updates."""

    @field_validator("learning_rate")
    @classmethod
    def _rates_are_positive_numbers(cls, rate: Any) -> LearningRate:
        def number(value: Any, where: str) -> float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{where} must be a number, got {value!r}")
            if not value > 0:
                raise ValueError(f"{where} must be > 0, got {value!r}")
            return float(value)

        if isinstance(rate, list):
            if not rate:
                raise ValueError("an empty list of per-layer rates")
            return [number(v, f"rate [{i}]") for i, v in enumerate(rate)]
        if isinstance(rate, dict):
            if not rate:
                raise ValueError("an empty mapping of per-pair rates")
            out = {}
            for key, value in rate.items():
                parse_pair(str(key))
                out[str(key)] = number(value, f"rate of pair {key!r}")
            return out
        return number(rate, "the global learning rate")


class Scenario(Section):
    """One experiment: data, topology, dynamics and training, reproducible from ``seed``."""

    name: str = "scenario"
    """Short name, used in plot legends and default output file names."""
    description: str = ""
    """Free text saying what the scenario is for."""
    seed: int = 0
    """Seed of every random choice (topology, initialisation, data order, signs of β)."""
    data: DataConfig = DataConfig()
    topology: TopologyConfig
    dynamics: DynamicsConfig = DynamicsConfig()
    training: TrainingConfig = TrainingConfig()
    devices: DeviceSpec = DeviceSpec()
    """The chip's neuron and synapse devices: the path of a device file (relative to the
    scenario file, e.g. ``../devices/analog-4bit.yaml``) or the device sections inline.
    Default: every quantisation point ideal (float). See ``docs/devices.md``."""
    device_overrides: dict[str, Any] = {}
    """Single device fields changed for this scenario, as dotted key paths or nested
    mappings: ``{synapse.weight.bits: 3, synapse.weight.rounding: stochastic}``. Applied
    when the scenario is loaded (the resolved scenario lists the final devices)."""

    def to_yaml(self) -> str:
        """The resolved scenario (every default filled in) as YAML text."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    def digest(self) -> str:
        """SHA-256 of :meth:`to_yaml`, identifying the resolved configuration."""
        return hashlib.sha256(self.to_yaml().encode()).hexdigest()


def parse_pair(name: str) -> tuple[int, int]:
    """``"a-b"`` → ``(a, b)`` with a ≤ b; layers are numbered 0 (input) to L (output)."""
    parts = name.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"layer pair {name!r} is not of the form 'a-b' with layer numbers a, b")
    a, b = int(parts[0]), int(parts[1])
    return (a, b) if a <= b else (b, a)


def scenario_from_dict(content: dict, file: str | None = None, base_dir: Path | None = None) -> Scenario:
    """Validate a mapping into a :class:`Scenario`; relative data and device paths resolve
    from ``base_dir``. The device file is read and ``device_overrides`` applied here, so the
    result holds the final devices inline."""
    content = dict(content)
    content["devices"] = resolve_devices(content.get("devices"), content.pop("device_overrides", None), file, base_dir)
    try:
        scenario = Scenario.model_validate(content)
    except ValidationError as exc:
        raise config_errors(exc, Scenario, file) from None
    if scenario.data.path is not None and base_dir is not None:
        resolved = (base_dir / scenario.data.path).resolve()
        scenario = scenario.model_copy(update={"data": scenario.data.model_copy(update={"path": str(resolved)})})
    return scenario


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read, override (``{"training.epochs": 3}``) and validate a scenario file."""
    path = Path(path)
    content = read_yaml(path)
    for key, value in (overrides or {}).items():
        set_key(content, key, value)
    return scenario_from_dict(content, str(path), path.parent)
