"""Energy and memory-access reports from the ledger of run files (``neurosim report``).

One run: per phase × device kind × action the count, bits moved and energy, totals per
training example and per epoch, and the energy table used with the source of every
figure. Two runs of the same network and devices (typically ``datapath: ep`` and ``bp``):
the same side by side, and the paper's Table 1 regenerated from what each datapath did.
Formats: Markdown, JSON, CSV (columns :data:`CSV_COLUMNS`).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from neurosim.devices.energy import ACTIONS
from neurosim.errors import NeurosimError
from neurosim.runfile.layout import INFERENCE

CSV_COLUMNS = ["run", "datapath", "phase", "device", "action", "count", "count_per_example", "bits",
               "bits_moved", "pJ_each", "energy_pJ", "energy_per_example_pJ", "source"]
"""Columns of the CSV format, one row per run × phase × device kind × action."""


class ReportError(NeurosimError):
    """A run file that cannot be reported on, or two runs that cannot be compared."""


@dataclass
class LedgerTable:
    """The ``/ledger`` of one run file, with what a report needs to know about the run."""

    path: str
    datapath: str
    devices: str
    examples: int
    epochs: int
    layer_sizes: tuple[int, ...]
    connections: tuple[int, ...]
    topology_kind: str
    rows: list[dict]
    test_examples: int = 0
    latency: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per phase (training phases, then inference): (seconds over the run, seconds per example)."""

    @property
    def inference_energy(self) -> float:
        return float(sum(r["energy_pJ"] for r in self.rows if r["phase"] == INFERENCE))

    @classmethod
    def load(cls, path: str | Path) -> LedgerTable:
        try:
            f = h5py.File(path, "r")
        except FileNotFoundError:
            raise ReportError(f"{path}: no such file") from None
        except OSError as exc:
            raise ReportError(f"{path}: not an HDF5 run file ({exc})") from None
        with f:
            if "ledger" not in f:
                raise ReportError(f"{path}: no /ledger group (a run file written before the ledger existed)")
            g = f["ledger"]
            columns = {name: g[name][()] for name in g if isinstance(g[name], h5py.Dataset)}
            latency = {}
            if "latency" in g:  # run files written since the ledger has timing
                t = g["latency"]
                latency = {phase.decode() if isinstance(phase, bytes) else phase: (float(total), float(each))
                           for phase, total, each in zip(t["phase"][()], t["seconds"][()],
                                                         t["seconds_per_example"][()])}
            rows = [{name: (v.decode() if isinstance(v, bytes) else v.item()) for name, v in
                     ((name, columns[name][i]) for name in columns)} for i in range(len(columns["count"]))]
            return cls(str(path), str(g.attrs["datapath"]), str(g.attrs["devices"]), int(g.attrs["examples"]),
                       int(g.attrs["epochs"]), tuple(int(v) for v in f["topology/layer_sizes"][()]),
                       tuple(int(v) for v in f["topology/connections"][()]), str(f["topology"].attrs["kind"]), rows,
                       int(g.attrs["test_examples"]), latency)

    @property
    def training(self) -> list[dict]:
        return [r for r in self.rows if r["phase"] != INFERENCE]

    def total(self, key: str = "energy_pJ", **match) -> float:
        """Sum of ``key`` over the training rows whose fields equal ``match``."""
        return float(sum(r[key] for r in self.training if all(r[k] == v for k, v in match.items())))

    @property
    def phases(self) -> list[str]:
        return list(dict.fromkeys(r["phase"] for r in self.training))

    @property
    def inference_per_example(self) -> float:
        return self.inference_energy / self.test_examples if self.test_examples else float("nan")

    def per_example(self, value: float) -> float:
        return value / self.examples if self.examples else float("nan")

    def per_epoch(self, value: float) -> float:
        return value / self.epochs if self.epochs else float("nan")


def _check_comparable(a: LedgerTable, b: LedgerTable) -> None:
    if (a.layer_sizes, a.connections, a.topology_kind) != (b.layer_sizes, b.connections, b.topology_kind):
        raise ReportError(f"{a.path} and {b.path} are runs of different networks: {a.topology_kind} "
                          f"{list(a.layer_sizes)} with {sum(a.connections):,} connections vs {b.topology_kind} "
                          f"{list(b.layer_sizes)} with {sum(b.connections):,}; compare runs of one network")
    if a.devices != b.devices:
        raise ReportError(f"{a.path} and {b.path} use different device files ({a.devices!r} vs {b.devices!r}); "
                          "compare runs on the same devices")


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _energy(pj: float) -> str:
    for unit, scale in (("J", 1e12), ("mJ", 1e9), ("µJ", 1e6), ("nJ", 1e3)):
        if abs(pj) >= scale:
            return f"{pj / scale:.3g} {unit}"
    return f"{pj:.3g} pJ"


def _seconds(value: float) -> str:
    """A time with the unit that reads best (ns, µs, ms, s)."""
    for unit, scale in (("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3)):
        if abs(value) < 1000 * scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} s"


def table1(run: LedgerTable) -> dict[str, str]:
    """The paper's Table 1 rows for one run, read from what its datapath counted."""
    neurons = sum(run.layer_sizes[1:])
    per_neuron_example = neurons * run.examples
    compute = {"integrate", "adc", "rho", "rho_prime", "dac", "bias_read"}
    phases = [p for p in run.phases if p != "update"]
    kinds = {p: frozenset(r["action"] for r in run.training
                          if r["phase"] == p and r["device"] == "neuron" and r["action"] in compute) for p in phases}
    distinct = len(set(kinds.values()))
    nudged = any(r["action"] == "nudge" for r in run.training)
    directions = []
    for p in phases:
        fwd, bwd = run.total("count", phase=p, action="mac_forward"), run.total("count", phase=p, action="mac_backward")
        directions.append(f"{p}: " + ("both directions" if fwd and bwd else "towards the output" if fwd
                                      else "towards the input" if bwd else "none"))
    cells = [(r["action"].removeprefix("write_"), r["bits"]) for r in run.training
             if r["device"] == "neuron" and r["action"].startswith("write_") and r["action"] != "write_bias"]
    order = []
    for p in phases:
        steps = run.total("count", phase=p, action="integrate") / per_neuron_example if per_neuron_example else 0
        order.append(f"{p} ({steps:g} steps, all neurons at once)" if steps else f"{p} (layer by layer)")
    order.append("update")
    products = run.total("count", phase="update", action="update_mac") / (sum(run.connections) * run.examples)
    return {
        "Number of distinct computations": f"{distinct}" + (" (output neurons add the cost nudge)" if nudged else ""),
        "Types of connections": "; ".join(directions),
        "Memory per neuron": ", ".join(f"{name} ({bits} bits)" for name, bits in dict(cells).items()),
        "Order of computations": " → ".join(order),
        "Nonlinear activation function": "yes" if run.total("count", action="rho") else "no",
        "Derivative of the activation function": "yes" if run.total("count", action="rho_prime")
        else "no (the clip of every integration step stands in for ρ′)",
        "Correction computation": f"{products:g} product(s) per connection and example, accumulated in the synapse",
    }


def markdown(runs: list[LedgerTable]) -> str:
    lines = []
    for run in runs:
        total = run.total()
        lines += [f"## {run.path}: {run.datapath.upper()} on `{run.devices}` devices", "",
                  f"{run.topology_kind} {list(run.layer_sizes)}, {sum(run.connections):,} connections; "
                  f"{run.examples:,} training examples over {run.epochs} epoch(s).", "",
                  f"**Training energy: {_energy(total)} in all, {_energy(run.per_example(total))} per example, "
                  f"{_energy(run.per_epoch(total))} per epoch.** Test-set inference: "
                  f"{_energy(run.inference_per_example)} per example.", "",
                  "| phase | device | action | count | per example | bits | bits moved | pJ each | energy | per example |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in run.training:
            lines.append(f"| {r['phase']} | {r['device']} | {r['action']} | {r['count']:,} | "
                         f"{_fmt(run.per_example(r['count']))} | {r['bits']} | {_fmt(r['bits_moved'])} | "
                         f"{r['pJ_each']:.4g} | {_energy(r['energy_pJ'])} | {_energy(run.per_example(r['energy_pJ']))} |")
        lines += ["", "| phase | energy | share | per example | latency per example |", "|---|---:|---:|---:|---:|"]
        for p in run.phases:
            e = run.total(phase=p)
            lines.append(f"| {p} | {_energy(e)} | {100 * e / total:.1f}% | {_energy(run.per_example(e))} | "
                         f"{_seconds(run.latency[p][1]) if p in run.latency else '—'} |")
        if INFERENCE in run.latency:
            lines.append(f"| {INFERENCE} (test) | | | {_energy(run.inference_per_example)} | "
                         f"{_seconds(run.latency[INFERENCE][1])} |")
        lines += ["", "| device kind | energy | share |", "|---|---:|---:|"]
        for d in dict.fromkeys(r["device"] for r in run.training):
            e = run.total(device=d)
            lines.append(f"| {d} | {_energy(e)} | {100 * e / total:.1f}% |")
        lines.append("")
    if len(runs) == 2:
        a, b = runs
        lines += [f"## Comparison: {a.datapath.upper()} vs {b.datapath.upper()}", "",
                  f"| per training example | {a.datapath.upper()} | {b.datapath.upper()} | ratio |", "|---|---:|---:|---:|"]
        keys = [("energy", "energy_pJ", _energy), ("bits moved", "bits_moved", _fmt)]
        for label, key, show in keys:
            ea, eb = a.per_example(a.total(key)), b.per_example(b.total(key))
            lines.append(f"| {label} | {show(ea)} | {show(eb)} | {ea / eb:.3g} |")
        for action in ("mac_forward", "mac_backward", "weight_read", "adc", "dac"):
            ca, cb = a.per_example(a.total("count", action=action)), b.per_example(b.total("count", action=action))
            lines.append(f"| {action} count | {_fmt(ca)} | {_fmt(cb)} | {ca / cb if cb else float('inf'):.3g} |")
        ta, tb = table1(a), table1(b)
        lines += ["", "### Table 1, regenerated from what each datapath did", "",
                  f"| capability | {a.datapath.upper()} | {b.datapath.upper()} |", "|---|---|---|"]
        lines += [f"| {key} | {ta[key]} | {tb[key]} |" for key in ta]
        lines.append("")
    lines += ["## Energy table used", "",
              "| device | action | pJ each (at the run's bits) | source |", "|---|---|---:|---|"]
    seen = {}
    for run in runs:
        for r in run.training:
            seen.setdefault((ACTIONS.index((r["device"], r["action"])), r["bits"]), (r["pJ_each"], r["source"]))
    for (index, bits), (pj, source) in sorted(seen.items()):
        device, action = ACTIONS[index]
        lines.append(f"| {device} | {action} | {pj:.4g} ({bits} bits) | {source} |")
    return "\n".join(lines) + "\n"


def as_json(runs: list[LedgerTable]) -> str:
    out = {"runs": []}
    for run in runs:
        total = run.total()
        out["runs"].append({
            "path": run.path, "datapath": run.datapath, "devices": run.devices, "examples": run.examples,
            "epochs": run.epochs, "layer_sizes": list(run.layer_sizes), "energy_total_pJ": total,
            "energy_per_example_pJ": run.per_example(total), "energy_per_epoch_pJ": run.per_epoch(total),
            "phases": {p: run.total(phase=p) for p in run.phases},
            "test_examples": run.test_examples, "inference_energy_per_example_pJ": run.inference_per_example,
            "rows": run.rows,
        })
    if len(runs) == 2:
        out["table1"] = {run.datapath: table1(run) for run in runs}
    return json.dumps(out, indent=2, default=lambda v: None if isinstance(v, float) and np.isnan(v) else v)


def as_csv(runs: list[LedgerTable]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS)
    writer.writeheader()
    for run in runs:
        for r in run.rows:
            writer.writerow({**{k: r[k] for k in CSV_COLUMNS if k in r}, "run": run.path, "datapath": run.datapath,
                             "count_per_example": run.per_example(r["count"]),
                             "energy_per_example_pJ": run.per_example(r["energy_pJ"])})
    return buffer.getvalue()


def figure(runs: list[LedgerTable], out: str | Path) -> Path:
    """Energy per training example of each run, stacked by phase, with each phase's share."""
    from neurosim.analysis import plots

    plt = plots.plt
    with plt.rc_context(plots.STYLE):
        fig, ax = plt.subplots(figsize=(6.5, 1.0 + 0.7 * len(runs)))
        widest = max(r.per_example(r.total()) for r in runs)
        for y, run in enumerate(runs):
            left, total = 0.0, run.per_example(run.total())
            for i, phase in enumerate(run.phases):
                e = run.per_example(run.total(phase=phase))
                ax.barh(y, e / 1e3, left=left / 1e3, color=plt.cm.tab20c(4 * y + i), edgecolor="white")
                if e > 0.12 * widest:
                    ax.text((left + e / 2) / 1e3, y, f"{phase}\n{100 * e / total:.0f}%", ha="center",
                            va="center", fontsize=7)
                left += e
            ax.text(left / 1e3, y, f"  {_energy(total)}", va="center", fontsize=8)
        ax.set_yticks(range(len(runs)), [f"{r.datapath.upper()} ({r.devices})" for r in runs])
        ax.set_xlabel("energy per training example (nJ)")
        ax.set_xlim(0, 1.2 * widest / 1e3)
        ax.invert_yaxis()
        return plots.save(fig, out)


FORMATS = {"md": markdown, "json": as_json, "csv": as_csv}


def report(paths: list[str | Path], fmt: str = "md") -> str:
    """The report of one run file, or of two compared; ``fmt`` is md, json or csv."""
    runs = [LedgerTable.load(p) for p in paths]
    if len(runs) > 2:
        raise ReportError("give one run file, or two to compare")
    if len(runs) == 2:
        _check_comparable(*runs)
    return FORMATS[fmt](runs)
