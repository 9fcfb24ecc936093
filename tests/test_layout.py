"""The layout shows the design: data flows scenario → model → controller → observers → run
file → report, and no module imports one from a layer above its own (nor in a cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "neurosim"

LAYERS = [
    ["errors", "streams"],
    ["config.base", "config.trace", "models.topology", "models.graph", "data.tasks", "runfile.layout",
     "runfile.h5io", "runfile.read", "runfile.checkpoint", "runfile.outputs"],
    ["devices.quantize", "devices.kernels", "devices.energy", "devices.spec", "devices.neurons",
     "devices.synapses", "devices.directed_synapses", "devices.analog", "devices.pulsed"],
    ["config.scenario", "config.schema_docs", "data.datasets"],
    ["models.network", "models.directed", "models.stability"],
    ["learning.phases", "learning.rules", "learning.rates", "learning.sparsity", "learning.directed_dynamics",
     "learning.ep", "learning.backprop", "learning.directed", "observe.observer"],
    ["observe.ledger", "observe.tracing", "observe.recorder", "observe.progress", "observe.monitor"],
    ["training.setup", "training.loop"],
    ["analysis.statistics", "analysis.report", "analysis.plots"],
    ["studies.grid", "studies.sweep", "studies.sweep_summary", "studies.sweep_plot", "studies.bitdepth",
     "studies.tolerance", "studies.directed_study", "api"],
    ["cli"],
]
"""Every module of the package, lowest layer first: a module may import from its own layer
or below. Reading run files (``runfile``) sits low: it needs nothing of training."""


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        if name.endswith("__init__"):
            continue
        out[name] = path
    return out


def imports(path: Path) -> set[str]:
    """The neurosim modules ``path`` imports, at any depth of its code (``TYPE_CHECKING`` ones excluded)."""
    tree, known = ast.parse(path.read_text()), modules()
    skipped = {id(node) for stmt in ast.walk(tree) if isinstance(stmt, ast.If)
               and getattr(stmt.test, "id", None) == "TYPE_CHECKING" for node in ast.walk(stmt)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("neurosim"):
            base = node.module.removeprefix("neurosim").lstrip(".")
            for alias in node.names:  # ``from neurosim.analysis import plots`` imports the module analysis.plots
                submodule = f"{base}.{alias.name}".lstrip(".")
                found.add(submodule if submodule in known else base)
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("neurosim.") for a in node.names if a.name.startswith("neurosim.")}
    return {m for m in found if m}


def test_every_module_has_a_layer():
    placed = [m for layer in LAYERS for m in layer]
    assert sorted(placed) == sorted(modules()), set(placed) ^ set(modules())


def test_no_module_imports_from_a_layer_above_its_own():
    rank = {m: i for i, layer in enumerate(LAYERS) for m in layer}
    upward = []
    for name, path in modules().items():
        for target in imports(path):
            if target in rank and rank[target] > rank[name]:  # (a bare package, e.g. ``import neurosim``, has no rank)
                upward.append(f"{name} (layer {rank[name]}) imports {target} (layer {rank[target]})")
    assert not upward, "\n".join(upward)


def test_no_import_cycle():
    graph = {name: {t for t in imports(path) if t in modules()} for name, path in modules().items()}
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])
