"""Tabulate the tolerance studies of docs/device-tolerance.md here and build its comparison tables.

    python docs/device-tolerance/combine.py runs/tolerance docs/device-tolerance

reads the study directories that ``docs/device-tolerance/run-studies.sh`` writes under
``runs/tolerance`` (``neurosim tolerance`` output: the sweep manifest and one run file per
run) and writes, next to this script:

- ``<study>/table.md``, ``<study>/table.csv``, ``<study>/tolerance.png``: each study's own
  output, made again from its run files;
- ``ep-vs-bp.md``: the asymmetry study with EP and with backprop side by side, the
  difference of their differences (paired by seed) with its 95 % CI, and what the weights did;
- ``shared-vs-independent.md``: read noise shared between the two EP phases against
  independent samples, at each level;
- ``timing.md``: how long the runs took;
- ``comparisons.png``: the differences of both comparisons against the parameter.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

import h5py
import numpy as np

from neurosim.studies import tolerance
from neurosim.studies.tolerance import CONFIDENCE, markdown_table, paired_difference, t_interval

SCENARIO = "docs/device-tolerance/quickstart-pulsed.yaml"
STUDIES = {  # directory: (--param, --reference, --set overrides), as run-studies.sh runs them
    "dw_min": ("synapse.pulsed.dw_min=0.0002,0.001,0.003,0.01,0.03,0.1", "ideal", {}),
    "up_down": ("synapse.pulsed.up_down=0.01,0.03,0.1,0.3,0.6", "given", {}),
    "dtod": ("synapse.pulsed.dw_min_dtod=0.3,1.0,3.0,10.0", "given", {}),
    "out_noise": ("synapse.read.out_noise=0.01,0.03,0.1,0.3,1.0", "given", {}),
    "corrupt": ("synapse.pulsed.corrupt_devices_prob=0.01,0.05,0.2,0.5,0.9", "given", {}),
    "bp_up_down": ("synapse.pulsed.up_down=0.01,0.03,0.1,0.3,0.6", "given", {"datapath": "bp"}),
    "bp2_up_down": ("synapse.pulsed.up_down=0.01,0.03,0.1,0.3,0.6", "given",
                    {"datapath": "bp", "training.learning_rate": [0.2, 0.1]}),
    "shared_out_noise": ("synapse.read.out_noise=0.01,0.03,0.1,0.3,1.0", "given",
                         {"device_overrides.synapse.read.shared_between_phases": True}),
    "shared_t30": ("synapse.read.shared_between_phases=true", "given",
                   {"dynamics.t_clamped": 30, "device_overrides.synapse.read.out_noise": 0.1}),
}
MARGIN = 0.02


def tabulate(runs: Path, out: Path) -> None:
    """Each study's table and plot, from its run files (what ``neurosim tolerance`` writes, made
    again here so that the tables follow the study code even where the run files came first)."""
    for study, (param, reference, overrides) in STUDIES.items():
        content, _ = tolerance.read_scenario(SCENARIO, overrides)
        key, values = tolerance.parse_param(param)
        plan = tolerance.plan(SCENARIO, content, key, values, 3, reference)
        result = tolerance.results(plan, runs / study, MARGIN)
        tolerance.write_tables(result, out / study)
        tolerance.plot(result, out / study / "tolerance.png")


def table(directory: Path) -> list[dict]:
    """A study's ``table.csv`` (as written by :func:`tabulate`)."""
    with open(directory / "table.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def seed_errors(row: dict) -> list[float]:
    return [float(v) if v else math.nan for k, v in row.items() if k.startswith("test_error_seed_")]


def by_value(rows: list[dict]) -> dict[str, dict]:
    return {row["value"]: row for row in rows}


def points(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:+.2f}"


def interval(iv) -> str:
    if math.isnan(iv.low):
        return points(iv.mean)
    return f"{points(iv.mean)} ({points(iv.low)} … {points(iv.high)})"


def differences(rows: dict[str, dict]) -> dict[str, list[float]]:
    """Per value: the per-seed differences from the study's reference."""
    reference = seed_errors(rows["reference"])
    return {value: [e - r for e, r in zip(seed_errors(row), reference)] for value, row in rows.items()
            if value != "reference"}


def run_files(directory: Path) -> dict[str, list[Path]]:
    """Value → its run files in seed order (the reference's: under ``reference``)."""
    manifest = json.loads((directory / "sweep.json").read_text())
    out: dict[str, list[Path]] = {}
    for point in manifest["points"]:
        value = [v for k, v in point["params"].items() if k != "seed"][0]
        out.setdefault(value if isinstance(value, str) else json.dumps(value), []).append(directory / point["file"])
    return out


def weight_stats(files: list[Path]) -> tuple[float, float, float]:
    """Mean over seeds of: the mean final weight of pair 0-1, of pair 1-2, and the summed
    mean |α·ΔW| requested over training (pair 0-1), the 'activity' the asymmetry acts on."""
    w01, w12, activity = [], [], []
    for path in files:
        if not path.exists():
            continue
        with h5py.File(path, "r") as f:
            w01.append(float(f["final/weights/0-1"][:].mean()))
            w12.append(float(f["final/weights/1-2"][:].mean()))
            rate = float(f["rates/pair"][0])
            activity.append(rate * float(f["metrics/batch/mean_abs_dw"][:, 0].sum()))
    return float(np.mean(w01)), float(np.mean(w12)), float(np.mean(activity))


def ep_vs_bp(runs: Path, out: Path, study: str) -> str:
    """EP's asymmetry study against backprop's (``study``), value by value."""
    ep, bp = by_value(table(out / "up_down")), by_value(table(out / study))
    ep_d, bp_d = differences(ep), differences(bp)
    ep_files, bp_files = run_files(runs / "up_down"), run_files(runs / study)
    header = ["up_down", "EP test error", "EP Δ (points, 95 % CI)", "BP test error", "BP Δ (points, 95 % CI)",
              "EP Δ − BP Δ (95 % CI)", "mean W 0-1 EP / BP", "mean W 1-2 EP / BP"]
    ref_ep, ref_bp = t_interval(seed_errors(ep["reference"])), t_interval(seed_errors(bp["reference"]))
    ew, bw = weight_stats(ep_files["reference"]), weight_stats(bp_files["reference"])
    rows = [["0 (reference)", f"{100 * ref_ep.mean:.2f}%", "", f"{100 * ref_bp.mean:.2f}%", "", "",
             f"{ew[0]:+.4f} / {bw[0]:+.4f}", f"{ew[1]:+.4f} / {bw[1]:+.4f}"]]
    for value in sorted((v for v in ep_d if v in bp_d), key=float):
        de, db = t_interval(ep_d[value]), t_interval(bp_d[value])
        both = paired_difference(ep_d[value], bp_d[value])
        ew, bw = weight_stats(ep_files[value]), weight_stats(bp_files[value])
        rows.append([value, f"{100 * t_interval(seed_errors(ep[value])).mean:.2f}%", interval(de),
                     f"{100 * t_interval(seed_errors(bp[value])).mean:.2f}%", interval(db), interval(both),
                     f"{ew[0]:+.4f} / {bw[0]:+.4f}", f"{ew[1]:+.4f} / {bw[1]:+.4f}"])
    ea, ba = weight_stats(ep_files["reference"])[2], weight_stats(bp_files["reference"])[2]
    lines = markdown_table(header, rows) + [
        "", f"Δ: test error minus the same datapath's reference (up_down 0), paired by seed; "
        f"EP Δ − BP Δ paired by seed too ({100 * CONFIDENCE:g} % Student-t intervals over 3 seeds). "
        f"Summed requested |α·ΔW| of pair 0-1 over the run (the update activity the asymmetry acts on), "
        f"references: EP {ea:.3g}, BP {ba:.3g} weight units per connection."]
    return "\n".join(lines) + "\n"


def shared_vs_independent(out: Path) -> str:
    independent, shared = by_value(table(out / "out_noise")), by_value(table(out / "shared_out_noise"))
    di, ds = differences(independent), differences(shared)
    header = ["out_noise", "independent: test error", "Δ (points, 95 % CI)", "shared: test error",
              "Δ (points, 95 % CI)", "shared − independent (points, 95 % CI)"]
    ref_i, ref_s = seed_errors(independent["reference"]), seed_errors(shared["reference"])
    rows = [["0 (references)", f"{100 * np.mean(ref_i):.2f}%", "", f"{100 * np.mean(ref_s):.2f}%", "",
             interval(paired_difference(ref_s, ref_i))]]
    for value in sorted((v for v in di if v in ds), key=float):
        ei, es = seed_errors(independent[value]), seed_errors(shared[value])
        rows.append([value, f"{100 * np.nanmean(ei):.2f}%", interval(t_interval(di[value])),
                     f"{100 * np.nanmean(es):.2f}%", interval(t_interval(ds[value])),
                     interval(paired_difference(es, ei))])
    lines = markdown_table(header, rows) + [
        "", "Each Δ is against its own reference (out_noise 0; the flag does nothing without noise, so both "
        "references are the same runs); shared − independent compares the test errors seed by seed "
        f"({100 * CONFIDENCE:g} % Student-t intervals over 3 seeds)."]
    return "\n".join(lines) + "\n"


def timing(runs: Path) -> str:
    rows, total, count = [], 0.0, 0
    for study in STUDIES:
        manifest = json.loads((runs / study / "sweep.json").read_text())
        seconds = [p["wall_seconds"] for p in manifest["points"] if p["wall_seconds"]]
        rows.append([study, str(len(seconds)), f"{sum(seconds) / 60:.1f}", f"{np.mean(seconds):.1f}"])
        total += sum(seconds)
        count += len(seconds)
    rows.append(["all", str(count), f"{total / 60:.1f}", f"{total / count:.1f}"])
    return "\n".join(markdown_table(["study", "runs", "minutes", "seconds per run"], rows)) + "\n"


def figure(out: Path) -> None:
    """``comparisons.png``: the difference from the reference against up_down for EP and
    backprop, and against out_noise for independent and shared read noise (95 % CIs)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    panels = [(axes[0], "up_down", [("EP", "up_down"), ("BP, α × 2", "bp2_up_down"), ("BP, same α", "bp_up_down")]),
              (axes[1], "out_noise", [("independent", "out_noise"), ("shared", "shared_out_noise")])]
    for ax, key, lines in panels:
        for shift, (label, study) in zip((0.97, 1.0, 1.03), lines):
            rows = differences(by_value(table(out / study)))
            xs = sorted(rows, key=float)
            ivs = [t_interval(rows[x]) for x in xs]
            ax.errorbar([float(x) * shift for x in xs], [100 * iv.mean for iv in ivs],
                        yerr=[[100 * (iv.mean - iv.low) for iv in ivs], [100 * (iv.high - iv.mean) for iv in ivs]],
                        fmt="o-", capsize=3, label=label)
        ax.axhspan(0, 100 * MARGIN, color="k", alpha=0.08, label=f"margin {100 * MARGIN:g} pts")
        ax.axhline(0, color="k", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel(key)
        ax.set_ylabel("Δ test error from the reference (points)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_title("up/down asymmetry: EP and backprop", fontsize=10)
    axes[1].set_title("read noise shared or independent between the EP phases", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "comparisons.png", dpi=120)
    plt.close(fig)


def main(runs: Path, out: Path) -> None:
    tabulate(runs, out)
    (out / "ep-vs-bp.md").write_text(
        "Backprop at twice EP's learning rates (0.2, 0.1: the same expected step, EP's cost being ‖y − s‖² "
        "and backprop's ½‖ρ(u) − y‖²):\n\n" + ep_vs_bp(runs, out, "bp2_up_down")
        + "\nBackprop at EP's learning rates (0.1, 0.05):\n\n" + ep_vs_bp(runs, out, "bp_up_down"))
    (out / "shared-vs-independent.md").write_text(shared_vs_independent(out))
    (out / "timing.md").write_text(timing(runs))
    figure(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
