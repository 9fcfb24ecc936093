"""Scenario files: the YAML schema of an experiment, validated into typed, frozen records.

A scenario is one of two kinds, chosen by ``topology.kind``: a Hopfield network trained with
EP or backprop on a data set (``layered``, ``layer_skipping``: :class:`NetworkScenario`), or
a complete directed graph learning a logic task with DEEP or asymmetric EP
(``complete_directed``: :class:`DirectedScenario`). Each kind declares only the sections and
values that apply to it, so a combination that does not run cannot be written.

Every field is declared once below with its default and a docstring stating its meaning,
unit and range; ``docs/scenario.md`` is written from the same declarations. Loading never
half-succeeds: an unknown key, a wrong type or an out-of-range value raises
:class:`~neurosim.errors.ConfigError` naming the file, the key path and the reason.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, TypeAdapter, ValidationError, field_validator, model_validator

from neurosim.config.base import (
    KeyedValueError,
    Section,
    config_errors,
    dump_yaml,
    read_yaml,
    set_key,
)
from neurosim.config.trace import TraceConfig
from neurosim.data.tasks import INPUTS as LOGIC_INPUTS
from neurosim.devices.spec import DeviceSpec, resolve_devices
from neurosim.errors import ConfigError
from neurosim.models.topology import fraction_for, layered_with_intralayer_count, max_rewirings, replacements_for

MAX_LAYER_SIZE = 2**31 - 1
"""Most neurons a layer may have: connection counts then stay well within a float's range
(the rewiring fraction p is computed from them)."""
EMBEDDED_EXAMPLES = 10_000
"""MNIST digits shipped inside the package (``data.source: embedded``)."""
EMBEDDED_TRAIN = 8_000
"""Training digits of the embedded data when ``data.train_size`` is not given: the first 8,000."""
EMBEDDED_TEST = 2_000
"""Test digits of the embedded data when ``data.test_size`` is not given: the last 2,000."""


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
        if self.source == "embedded":
            train, test = self.train_size or EMBEDDED_TRAIN, self.test_size or EMBEDDED_TEST
            if train + test > EMBEDDED_EXAMPLES:
                raise ValueError(f"train_size + test_size = {train + test} exceeds the {EMBEDDED_EXAMPLES:,} embedded "
                                 "examples (training and test digits never overlap)")
        return self


class TopologyBase(Section):
    """Neuron groups: what every topology declares."""

    sizes: list[int] = Field(min_length=2)
    """Neurons per layer, input first and output last, e.g. ``[784, 500, 500, 500, 10]``;
    each from 1 to 2³¹ − 1 (connections are held as dense blocks, so any layer near that
    bound is far beyond memory anyway)."""

    @field_validator("sizes")
    @classmethod
    def _positive_sizes(cls, sizes: list[int]) -> list[int]:
        for i, size in enumerate(sizes):
            if size < 1:
                raise ValueError(f"layer {i} has {size} neurons; every layer needs at least 1")
            if size > MAX_LAYER_SIZE:
                raise ValueError(f"layer {i} has {size} neurons; at most {MAX_LAYER_SIZE:,} (2³¹ − 1)")
        return sizes


class TopologyConfig(TopologyBase):
    """Neuron groups and their symmetric connectivity (paper §3, Algorithm 1)."""

    kind: Literal["layered", "layer_skipping"] = "layered"
    """``layered``: every pair of neurons in adjacent layers connected (paper Figure 1).
    ``layer_skipping``: hidden layers made all-to-all, then ``n`` random connections
    rewired (paper Algorithm 1, Figure 2)."""
    p: float | None = Field(default=None, ge=0.0, lt=1.0)
    """Layer-skipping only: fraction of rewired connections; converted to the number of
    replacements with p = 1 − ((N_o − 1)/N_o)^n, N_o the connection count after adding
    the intralayer connections. Give ``p`` or ``n``, not both; the n it stands for has the
    same maximum as ``n``."""
    n: int | None = Field(default=None, ge=0)
    """Layer-skipping only: number of connections rewired by Algorithm 1. At most the number
    of pairs a connection may join (every pair of neurons but two inputs or two outputs) in
    ``replace`` mode, the number of those pairs left unconnected by the all-to-all hidden
    layers in ``add`` mode."""
    mode: Literal["replace", "add"] = "replace"
    """Layer-skipping only: ``replace`` removes a random existing connection for every one
    added (Algorithm 1); ``add`` only adds (the variant the paper mentions in §3.3)."""
    nonadjacent_init: float = Field(default=0.05, gt=0.0)
    """Half-width of the uniform distribution U[−a, a] that initialises every connection
    between non-adjacent layers and inside a layer (the paper's 0.05). Connections between
    adjacent layers are Glorot-uniform."""

    @model_validator(mode="after")
    def _rewiring_matches_kind(self) -> TopologyConfig:
        if self.kind != "layer_skipping" and (self.p is not None or self.n is not None):
            raise ValueError("'p' and 'n' apply only to kind 'layer_skipping'")
        if self.kind == "layer_skipping":
            if (self.p is None) == (self.n is None):
                raise ValueError("kind 'layer_skipping' needs exactly one of 'p' or 'n'")
            if len(self.sizes) < 3:
                raise ValueError("kind 'layer_skipping' needs at least one hidden layer")
            self._rewirings_fit()
        return self

    def _rewirings_fit(self) -> None:
        """``n`` (or the n that ``p`` stands for) within Algorithm 1's maximum for these sizes and
        mode (:func:`~neurosim.models.topology.max_rewirings`), so that building never starts
        on a topology it cannot finish."""
        limit, connections = max_rewirings(self.sizes, self.mode), layered_with_intralayer_count(self.sizes)
        why = (f"mode 'add' only fills the pairs left unconnected, and {self.sizes} leaves {limit:,}"
               if self.mode == "add" else
               f"mode 'replace' rewires at most as many times as there are pairs of neurons a connection "
               f"may join (all but two inputs or two outputs), {limit:,} for {self.sizes}")
        if self.n is not None and self.n > limit:
            raise KeyedValueError(("n",), f"{self.n:,} rewirings, but at most {limit:,} are possible: {why}")
        n = replacements_for(self.p, connections) if self.p is not None else 0
        if n > limit:
            raise KeyedValueError(("p",), f"p = {self.p} stands for n = {n:,} rewirings of N_o = {connections:,} "
                                  f"connections, but at most {limit:,} are possible ({why}): p must be at most "
                                  f"{fraction_for(limit, connections):.4f}")


class DirectedTopologyConfig(TopologyBase):
    """Neuron groups of a directed graph (the DEEP paper)."""

    kind: Literal["complete_directed"]
    """``complete_directed``: every neuron connected to every non-input neuron by its own
    directed synapse (the DEEP paper; ``sizes`` is ``[inputs, hidden..., outputs]``, hidden
    layers pooled)."""


class DynamicsBase(Section):
    """Step size, clamping factor and phase lengths: what every neuron dynamics declares."""

    epsilon: float = Field(default=0.5, gt=0.0, le=1.0)
    """Integration step ε (dimensionless, in units of the neuron time constant):
    s ← clip((1 − ε)s + ε(Wρ(u) + b), 0, 1); for a directed field V, s ← clip(s + εV(s), 0, 1)."""
    beta: float = Field(default=1.0, gt=0.0)
    """Clamping factor β of the weakly-clamped phase (magnitude; its sign may be random)."""
    t_free: int = Field(default=500, ge=1)
    """Integration steps of the free phase."""
    t_clamped: int = Field(default=8, ge=1)
    """Integration steps of the weakly-clamped phase."""
    estimator: Literal["random_sign", "one_sided", "symmetric"] = "random_sign"
    """How the weakly-clamped phase estimates the gradient: ``random_sign`` one phase with
    ±β, the sign drawn at random for every batch (the layer-skipping paper, §3);
    ``one_sided`` one phase with +β; ``symmetric`` (Laborieux et al., 2021; Hopfield
    networks only) two phases from U0, one with +β and one with −β, and
    ΔW ∝ (ρ(U+β)ρ(U+β) − ρ(U−β)ρ(U−β))/(2β): its bias is O(β²) instead of O(β), for a second
    weakly-clamped phase's time and energy."""


class SettleConfig(Section):
    """When a phase ends because the circuit has settled, not after a fixed number of steps."""

    tolerance: float = Field(gt=0.0)
    """The phase ends after the first step at which every neuron of every example of the
    batch moved by less than this: max over the batch of |s(t) − s(t − 1)| < tolerance
    (state units)."""
    max_steps: int = Field(default=500, ge=1)
    """The phase ends here whether settled or not."""


class DynamicsConfig(DynamicsBase):
    """Neuron dynamics, discretised: the Hopfield leaky integrator (paper eq. 5)."""

    settle: dict[Literal["free", "weakly-clamped"], SettleConfig] = {}
    """Phases that end when the circuit has settled (``docs/model.md``), e.g.
    ``{free: {tolerance: 1.0e-4, max_steps: 500}}``; a phase not named runs its fixed
    ``t_free`` or ``t_clamped`` steps (the default, and the paper's setting). The symmetric
    estimator's −β phase follows ``weakly-clamped``."""

    nudge: Literal["split", "euler"] = "split"
    """How a weakly-clamped step applies the cost's nudge 2β(y − s) to the output neurons.
    ``split`` (the layer-skipping paper's code, the default for ``kind: hopfield``): first
    the free step v = (1 − ε)s + ε(Wρ(u) + b), then v ← v + 2εβ(y − v) on the outputs, then
    s ← clip(v, 0, 1); with 2εβ = 1 a positively nudged output lands on its target.
    ``euler`` (the default for ``deep`` and ``asymmetric``, whose paper's eq. 1 holds the
    nudge inside the field): one Euler step of the whole field, s ← clip((1 − ε)s +
    ε(Wρ(u) + b + 2β(y − s)), 0, 1). Both discretise the same ODE and agree to first order
    in εβ; neurosim ≤ 0.1 used ``euler`` for every kind."""
    kind: Literal["hopfield"] = "hopfield"
    """``hopfield``: symmetric EP on bidirectional synapses (layered or layer-skipping
    topologies)."""


class DirectedDynamicsConfig(DynamicsBase):
    """Neuron dynamics of a directed graph, discretised: the DEEP or the asymmetric field (DEEP paper eq. 1)."""

    @field_validator("estimator")
    @classmethod
    def _one_clamped_phase(cls, estimator: str) -> str:
        if estimator == "symmetric":
            raise ValueError("the symmetric estimator is for Hopfield networks; a directed graph takes "
                             "random_sign or one_sided")
        return estimator

    nudge: Literal["split", "euler"] = "euler"
    """How a weakly-clamped step applies the cost's nudge 2β(y − s) to the output neurons.
    ``euler`` (the default, as the DEEP paper's eq. 1 holds the nudge inside the field):
    one Euler step of the whole field, nudge included, s ← clip(s + ε(V(s) + 2β(y − s)), 0, 1)
    with V the field ``kind`` names. ``split`` (the layer-skipping paper's code, the default
    for ``kind: hopfield``): first the step of V alone, v = s + εV(s), then v ← v + 2εβ(y − v)
    on the outputs, then s ← clip(v, 0, 1). Both discretise the same ODE and agree to first
    order in εβ."""
    kind: Literal["deep", "asymmetric"]
    """``deep``: directed EP, ṡ_j = Σ_i W_ij s_i + b_j − s_j Σ_i W_ji, learning rule
    integrated along the clamped path (DEEP paper eqs. 1–2). ``asymmetric``: vector-field
    EP, ṡ_j = Σ_i W_ij s_i + b_j − s_j, ΔW_ij ∝ s_i⁰(s_j^β − s_j⁰) (the DEEP paper's
    baseline). ``t_free`` and ``t_clamped`` are the paper's M_0 and M_β."""


LearningRate = float | list[float] | dict[str, float]


class TrainingConfig(Section):
    """Epochs, batches and learning rates."""

    epochs: int = Field(default=1, ge=1)
    """Number of passes over the training set."""
    batch_size: int = Field(default=20, ge=1)
    """Examples per mini-batch; ΔW and Δb are averaged over a batch. At most the number of
    training examples, where the scenario states it (``data.train_size``, the embedded
    default 8,000, or a logic task's 4)."""
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
    threads: int = Field(default=1, ge=1)
    """BLAS threads used for the matrix products of this run (part of the run's provenance:
    results can differ in the last bits between thread counts; sweep workers and
    ``neurosim run`` both honour it)."""

    @field_validator("learning_rate")
    @classmethod
    def _rates_are_positive_numbers(cls, rate: Any) -> LearningRate:
        def number(value: Any, where: str) -> float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{where} must be a number, got {value!r}")
            if not value > 0:
                raise ValueError(f"{where} must be > 0, got {value!r}")
            if value > sys.float_info.max:  # inf, or an integer no float holds
                raise ValueError(f"{where} must be a finite number, got {value!r}")
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


class SweepConfig(Section):
    """A grid of runs for ``neurosim sweep`` (ignored by ``neurosim run``): every combination
    of the listed values, each one ordinary run of this scenario with those keys set."""

    grid: dict[str, list[Any]] = {}
    """Key path → list of values, e.g. ``{"dynamics.beta": [0.5, 1.0], "topology.p": [0.01, 0.1]}``.
    ``--grid KEY.PATH=V1,V2`` on the command line adds a key or replaces the file's list for it."""
    seeds: int | None = Field(default=None, ge=1)
    """Repeat every grid point with this many seeds: ``seed``, ``seed + 1``, …, ``seed + seeds − 1``
    (``--seeds`` on the command line takes precedence)."""

    @field_validator("grid")
    @classmethod
    def _values_are_nonempty_lists(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in grid.items():
            if not values:
                raise ValueError(f"{key}: an empty list of values")
        return grid


class DirectedConfig(Section):
    """Task, initialisation, ℓ1 and sparsity mechanism of a directed-graph run (DEEP paper §3–4)."""

    task: Literal["and", "or", "xor"]
    """Logic operation learnt on the four binary input pairs (one output neuron; needs
    ``topology.sizes`` ``[2, hidden, 1]``)."""
    init_scale: float = Field(default=0.5, gt=0.0)
    """Half-width a of U[−a, a], the distribution of every initial weight and bias."""
    l1: float = Field(default=0.0, ge=0.0)
    """ℓ1 strength λ₁: every correction gains −λ₁ sign(W) (before the learning rate)."""
    sparsity: bool = False
    """Apply the sparsity mechanism (eq. 3) after every update."""
    sparsity_start: int = Field(default=0, ge=0)
    """Epochs trained before the sparsity mechanism starts (0: from the first update).
    Pruning from the start removes weights that are only passing through zero while the
    task is being learnt."""
    threshold: float = Field(default=0.01, gt=0.0)
    """λ of eq. 3: only connections with |W| < λ may be removed (weight units)."""
    temperature: float = Field(default=0.01, gt=0.0)
    """T of eq. 3 (weight units): higher T makes removing a stronger weak connection likelier."""
    converged_mse: float = Field(default=1e-3, gt=0.0)
    """A model has converged ("MSE ≈ 0") in the first epoch whose free-phase MSE over the
    four examples is below this."""


class ScenarioBase(Section):
    """What every scenario declares: name, seed, training, devices, traces and sweep grid."""

    name: str = "scenario"
    """Short name, used in plot legends and default output file names."""
    description: str = ""
    """Free text saying what the scenario is for."""
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    """Seed of every random choice (topology, initialisation, data order, signs of β), from 0
    to 2³² − 1 (leaving room for the seeds ``seed + k`` of repeated runs)."""
    training: TrainingConfig = TrainingConfig()
    devices: DeviceSpec = DeviceSpec()
    """The chip's neuron and synapse devices: the path of a device file (relative to the
    scenario file, e.g. ``../devices/analog-4bit.yaml``) or the device sections inline.
    Default: every quantisation point ideal (float). See ``docs/devices.md``."""
    device_overrides: dict[str, Any] = {}
    """Single device fields changed for this scenario, as dotted key paths or nested
    mappings: ``{synapse.weight.bits: 3, synapse.weight.rounding: stochastic}``. Applied
    when the scenario is loaded (the resolved scenario lists the final devices)."""
    trace: TraceConfig = TraceConfig()
    sweep: SweepConfig = SweepConfig()

    def to_yaml(self) -> str:
        """The resolved scenario of one run (every default filled in) as YAML text.

        The ``sweep`` section is left out: it describes a family of runs, not this run, and
        does not change its result (a sweep stores it in its manifest).
        """
        return dump_yaml(self.model_dump(mode="json", exclude={"sweep"}))

    def digest(self) -> str:
        """SHA-256 of :meth:`to_yaml`, identifying the resolved configuration."""
        return hashlib.sha256(self.to_yaml().encode()).hexdigest()


class NetworkScenario(ScenarioBase):
    """A Hopfield network learning a data set: data, topology, dynamics and training,
    reproducible from ``seed``."""

    datapath: Literal["ep", "bp"] = "ep"
    """Learning datapath on the same devices: ``ep`` the three-phase Equilibrium Propagation
    controller (free, weakly-clamped, update; paper Figure 6); ``bp`` backpropagation
    (forward, backward, update; paper Figure 7), for feed-forward topologies only."""
    compare: list[Literal["ep", "bp"]] = []
    """Datapaths to run one after the other on the same network and devices, e.g.
    ``[ep, bp]``: ``neurosim run`` then writes one run file per datapath
    (``NAME-ep.h5``, ``NAME-bp.h5``) and their energy comparison (``NAME-report.md``,
    see ``docs/energy.md``); ``datapath`` is then ignored. Empty: one run of ``datapath``."""
    data: DataConfig = DataConfig()
    topology: TopologyConfig
    dynamics: DynamicsConfig = DynamicsConfig()

    @field_validator("compare")
    @classmethod
    def _compare_lists_each_once(cls, compare: list[str]) -> list[str]:
        if len(set(compare)) != len(compare):
            raise ValueError(f"{compare}: name each datapath once")
        return compare

    @model_validator(mode="after")
    def _backprop_has_a_forward_order(self) -> NetworkScenario:
        """Backprop needs layers in a forward order; Algorithm 1 connects every hidden layer
        of more than one neuron all-to-all (as the controller finds when it is built)."""
        if self.topology.kind != "layer_skipping" or "bp" not in (self.compare or [self.datapath]):
            return self
        cyclic = [f"{layer}-{layer}" for layer, size in enumerate(self.topology.sizes[1:-1], 1) if size > 1]
        if cyclic:
            reason = (f"backprop needs a feed-forward network, but connections inside a layer ({', '.join(cyclic)}) "
                      "form cycles: the layers have no forward order (kind 'layer_skipping' connects every "
                      "hidden layer all-to-all)")
            if self.compare:
                raise KeyedValueError(("compare", self.compare.index("bp")), f"'bp' cannot run here: {reason}")
            raise KeyedValueError(("datapath",), reason)
        return self

    @model_validator(mode="after")
    def _batch_fits_the_training_set(self) -> NetworkScenario:
        """Where the training set's size is known before loading the data (embedded digits, or
        ``data.train_size``), the batch fits in it."""
        if self.data.source == "embedded":
            examples = self.data.train_size or EMBEDDED_TRAIN
            check_batch_size(self.training, examples, "data.train_size" if self.data.train_size else
                             "the embedded digits' default training set")
        elif self.data.train_size is not None:
            check_batch_size(self.training, self.data.train_size, "data.train_size")
        return self


class DirectedScenario(ScenarioBase):
    """A directed graph learning a logic task with its own learning rules (the DEEP paper):
    no data set, no choice of datapath, one global learning rate; reproducible from ``seed``."""

    topology: DirectedTopologyConfig
    dynamics: DirectedDynamicsConfig
    directed: DirectedConfig

    @model_validator(mode="after")
    def _logic_task_fits(self) -> DirectedScenario:
        check_batch_size(self.training, len(LOGIC_INPUTS), "the logic task's truth table")
        if not isinstance(self.training.learning_rate, float):
            raise KeyedValueError(("training", "learning_rate"), "a directed graph takes one global rate (a number)")
        sizes = self.topology.sizes
        if sizes[0] != 2 or sizes[-1] != 1:
            raise KeyedValueError(("topology", "sizes"), f"logic tasks need 2 inputs and 1 output, got {sizes}")
        return self


def check_batch_size(training: TrainingConfig, examples: int, source: str) -> None:
    """A batch no larger than the training set, which would otherwise make every epoch one
    short batch of a size the scenario does not state."""
    if training.batch_size > examples:
        given = "" if "batch_size" in training.model_fields_set else " (the default)"
        raise KeyedValueError(("training", "batch_size"), f"{training.batch_size}{given} is more than the {examples:,} "
                              f"training examples ({source}): use at most {examples:,}")


SCENARIO_OF_TOPOLOGY: dict[str, type[NetworkScenario] | type[DirectedScenario]] = {
    "layered": NetworkScenario,
    "layer_skipping": NetworkScenario,
    "complete_directed": DirectedScenario,
}
"""The scenario class of every ``topology.kind``."""

_KINDS = "'layered', 'layer_skipping' (a Hopfield network) or 'complete_directed' (a directed graph)"


def scenario_class(content: Any) -> type[NetworkScenario] | type[DirectedScenario] | None:
    """The class of the scenario a raw mapping describes, named by its ``topology.kind``
    (``layered`` when the topology gives none); None when the topology or its kind is
    missing or unknown."""
    topology = content.get("topology") if isinstance(content, dict) else None
    if not isinstance(topology, dict):
        return None if topology is None else NetworkScenario  # the class then reports the type
    kind = topology.get("kind", TopologyConfig.model_fields["kind"].default)
    return SCENARIO_OF_TOPOLOGY.get(kind) if isinstance(kind, str) else None


def _tag(value: Any) -> str | None:
    """The union tag (class name) of a raw mapping or of a validated scenario."""
    scenario = type(value) if isinstance(value, ScenarioBase) else scenario_class(value)
    return scenario.__name__ if scenario else None


Scenario = Annotated[
    Annotated[NetworkScenario, Tag("NetworkScenario")] | Annotated[DirectedScenario, Tag("DirectedScenario")],
    # no tag: a literal error on topology.kind ("expected" words pydantic's message, "error"
    # gives config_errors the key path, as a validator's KeyedValueError does)
    Discriminator(_tag, custom_error_type="literal_error", custom_error_context={
        "expected": _KINDS, "error": KeyedValueError(("topology", "kind"), f"Input should be {_KINDS}")}),
]
"""A scenario of either kind, told apart by ``topology.kind``."""

SCENARIO_SCHEMA: TypeAdapter[Scenario] = TypeAdapter(Scenario)
"""Validates a raw mapping into the :data:`Scenario` its ``topology.kind`` names."""


def parse_pair(name: str) -> tuple[int, int]:
    """``"a-b"`` → ``(a, b)`` with a ≤ b; layers are numbered 0 (input) to L (output)."""
    parts = name.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"layer pair {name!r} is not of the form 'a-b' with layer numbers a, b")
    a, b = int(parts[0]), int(parts[1])
    return (a, b) if a <= b else (b, a)


def scenario_from_dict(content: dict, file: str | None = None, base_dir: Path | None = None) -> Scenario:
    """Validate a mapping into a :data:`Scenario`; relative data and device paths resolve
    from ``base_dir``. The device file is read and ``device_overrides`` applied here, so the
    result holds the final devices inline."""
    content = dict(content)
    content["devices"] = resolve_devices(content.get("devices"), content.pop("device_overrides", None), file, base_dir)
    try:
        scenario = SCENARIO_SCHEMA.validate_python(content)
    except ValidationError as exc:
        raise config_errors(exc, Scenario, file) from None
    if isinstance(scenario, NetworkScenario) and scenario.data.path is not None and base_dir is not None:
        try:
            resolved = (base_dir / scenario.data.path).resolve()
        except (OSError, ValueError) as exc:  # e.g. a NUL character, a loop of links
            raise ConfigError(file, "data.path", f"{scenario.data.path!r} is not a usable path ({exc})") from None
        scenario = scenario.model_copy(update={"data": scenario.data.model_copy(update={"path": str(resolved)})})
    return scenario


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read a scenario file and validate it with ``overrides`` (``{"training.epochs": 3}``),
    as :func:`validate_with_overrides` does."""
    path = Path(path)
    return validate_with_overrides(read_yaml(path), overrides or {}, path)


def validate_with_overrides(content: dict, overrides: dict[str, Any], path: Path) -> Scenario:
    """Validate the mapping the scenario file ``path`` holds, then apply every override (to
    ``content``, in place) and validate the result; the final scenario.

    The file must be valid on its own, so that a value an override replaces is still checked
    (a mistake in the file would otherwise surface only once the override is gone). The
    overrides are validated together, so that keys that only make sense together can be set
    one by one (``--set data.source=idx --set data.path=DIR``). An error names its source:
    the file (``FILE: KEY.PATH: REASON``), or the overrides that caused it, those whose key
    path contains the error's or lies inside it (all of them when none does)
    (``FILE with --set KEY=VALUE: KEY.PATH: REASON``).
    """
    scenario = scenario_from_dict(content, str(path), path.parent)
    if not overrides:
        return scenario
    given = {key: f"--set {key}={value if isinstance(value, str) else json.dumps(value, default=str)}"
             for key, value in overrides.items()}
    for key, value in overrides.items():
        try:
            set_key(content, key, value)
        except ConfigError as exc:
            raise ConfigError(f"{path} with {given[key]}", exc.key_path, exc.reason) from None
    try:
        return scenario_from_dict(content, f"{path} with {' '.join(given.values())}", path.parent)
    except ConfigError as exc:
        where = exc.key_path or ""
        blamed = [text for key, text in given.items()
                  if where == key or where.startswith(key + ".") or key.startswith(where + ".")]
        blamed = blamed or list(given.values())
        raise ConfigError(f"{path} with {' '.join(blamed)}", exc.key_path, exc.reason) from None
