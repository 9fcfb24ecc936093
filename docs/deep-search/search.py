"""Grid search for the DEEP paper's claims, one process, through neurosim's Python API.

Why not ``neurosim sweep``: a sweep point records an HDF5 run file and ships a checkpoint
to the client after every epoch, ~33 s for a 400-epoch 8-neuron run on this machine,
against ~1 s for the training itself. This driver trains the same scenarios
(``neurosim.build`` with the grid's overrides, the scenario's seeds seed, seed + 1, …)
without a run file and appends one CSV row per model.

    python docs/deep-search/search.py run SCENARIO OUT.csv --seeds N --grid key=v1,v2 ... [--set key=v]
    python docs/deep-search/search.py table OUT.csv [--by key ...] [--sort score] [--top K]
    python docs/deep-search/search.py graph SCENARIO SEED OUT.png

``run`` is resumable: a (point, seed) already in OUT.csv is skipped. Values are read as
YAML (``1.0e-3``, ``true``), like ``neurosim sweep --grid``.

Per model: ``first`` the first epoch with free-phase MSE < converged_mse (1e-3), ``final_mse``,
``solved_end`` (final MSE < 1e-3), ``sparsity`` (final), ``sparse_solved`` (the largest
sparsity at an epoch whose MSE was < 1e-3).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import statistics
import sys
import time
from pathlib import Path

from neurosim.config.base import parse_yaml, read_yaml

FIELDS = ["first", "final_mse", "min_mse", "solved_ever", "solved_end", "sparsity", "sparse_solved", "seconds"]


def parse_grid(items: list[str]) -> list[tuple[str, list]]:
    axes = []
    for item in items:
        key, values = item.split("=", 1)
        axes.append((key, parse_yaml(f"[{values}]")))
    return axes


def train_one(scenario: str, overrides: dict) -> dict:
    import numpy as np

    import neurosim as ns

    start = time.perf_counter()
    sim = ns.build(scenario, overrides=overrides)
    sim.train()
    limit = sim.scenario.directed.converged_mse
    mse = np.array([e.mse for e in sim.epochs])
    sparsity = np.array([e.sparsity for e in sim.epochs])
    below = np.flatnonzero(mse < limit)
    return {
        "first": int(below[0]) + 1 if len(below) else "",
        "final_mse": f"{mse[-1]:.3e}",
        "min_mse": f"{mse.min():.3e}",
        "solved_ever": int(len(below) > 0),
        "solved_end": int(mse[-1] < limit),
        "sparsity": f"{sparsity[-1]:.4f}",
        "sparse_solved": f"{sparsity[below].max():.4f}" if len(below) else "",
        "seconds": f"{time.perf_counter() - start:.2f}",
    }


def run(args) -> None:
    axes = parse_grid(args.grid)
    fixed = {k: parse_yaml(v) for k, v in (s.split("=", 1) for s in args.set)}
    keys = [k for k, _ in axes]
    header = ["point", *keys, "seed", *FIELDS]
    out = Path(args.out)
    done = set()
    if out.exists():
        with out.open() as fh:
            done = {(row["point"], row["seed"]) for row in csv.DictReader(fh)}
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="") as fh:
            csv.writer(fh).writerow(header)
    base_seed = read_yaml(args.scenario).get("seed", 0)
    combos = list(itertools.product(*[v for _, v in axes])) or [()]
    total, t0 = len(combos) * args.seeds, time.perf_counter()
    count = 0
    for combo in combos:
        point = "_".join(f"{k}={v}" for k, v in zip(keys, combo)) or "base"
        for k in range(args.seeds):
            count += 1
            seed = base_seed + k
            if (point, str(seed)) in done:
                continue
            overrides = {**fixed, **dict(zip(keys, combo)), "seed": seed}
            try:
                result = train_one(args.scenario, overrides)
            except Exception as error:  # a diverging point counts as not learnt
                print(f"{point} seed {seed}: {type(error).__name__}: {error}", file=sys.stderr)
                result = {"first": "", "final_mse": "nan", "min_mse": "nan", "solved_ever": 0, "solved_end": 0,
                          "sparsity": "nan", "sparse_solved": "", "seconds": "0"}
            with out.open("a", newline="") as fh:
                csv.writer(fh).writerow([point, *combo, seed, *(result[f] for f in FIELDS)])
        if not args.quiet:
            print(f"\r{count}/{total} models, {time.perf_counter() - t0:.0f} s", end="", file=sys.stderr)
    print(file=sys.stderr)


def summarise(rows: list[dict]) -> dict:
    n = len(rows)
    ever = [r for r in rows if r["solved_ever"] == "1"]
    end = [r for r in rows if r["solved_end"] == "1"]
    sp = [float(r["sparsity"]) for r in rows if r["sparsity"] != "nan"] or [0.0]
    sp_end = [float(r["sparsity"]) for r in end] or [0.0]
    sp_solved = [float(r["sparse_solved"]) for r in ever] or [0.0]
    firsts = [int(r["first"]) for r in ever]
    return {
        "models": n,
        "ever": len(ever),
        "end": len(end),
        "median_first": statistics.median(firsts) if firsts else None,
        "sparsity_median": statistics.median(sp),
        "sparsity_max": max(sp),
        "solved_end_sparsity_median": statistics.median(sp_end) if end else None,
        "solved_end_sparsity_max": max(sp_end) if end else None,
        "sparse_solved_max": max(sp_solved) if ever else None,
        "seconds": sum(float(r["seconds"]) for r in rows),
    }


def pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def table(args) -> None:
    with open(args.out) as fh:
        rows = list(csv.DictReader(fh))
    groups: dict[str, list[dict]] = {}
    for row in rows:
        label = "_".join(f"{k}={row[k]}" for k in args.by) if args.by else row["point"]
        groups.setdefault(label, []).append(row)
    summaries = [(label, summarise(g)) for label, g in groups.items()]
    scores = {
        "ever": lambda s: (s["ever"] / s["models"], s["end"] / s["models"]),
        "end": lambda s: (s["end"] / s["models"], s["ever"] / s["models"]),
        "sparse": lambda s: (s["end"] / s["models"] >= args.min_end, s["solved_end_sparsity_median"] or 0,
                             s["end"] / s["models"]),
        "sparsemax": lambda s: (s["solved_end_sparsity_max"] or 0, s["end"] / s["models"]),
        "fail": lambda s: (-s["ever"] / s["models"], -s["end"] / s["models"]),
    }
    summaries.sort(key=lambda item: scores[args.sort](item[1]), reverse=True)
    print("| point | MSE<1e-3 ever | at end | median epochs | sparsity median / max (all) "
          "| sparsity median / max (solved at end) | max sparsity while solved |")
    print("|---|---|---|---|---|---|---|")
    for label, s in summaries[: args.top]:
        first = "—" if s["median_first"] is None else f"{s['median_first']:.0f}"
        print(f"| {label} | {s['ever']}/{s['models']} | {s['end']}/{s['models']} | {first} "
              f"| {pct(s['sparsity_median'])} / {pct(s['sparsity_max'])} "
              f"| {pct(s['solved_end_sparsity_median'])} / {pct(s['solved_end_sparsity_max'])} "
              f"| {pct(s['sparse_solved_max'])} |")
    total = sum(s["seconds"] for _, s in summaries)
    print(f"\n{len(rows)} models, {total / 60:.1f} min of training", file=sys.stderr)


def graph(args) -> None:
    """Train one seed of a scenario and draw its final graph (the study's Figure 2 style)."""
    import numpy as np

    import neurosim as ns
    from neurosim.studies.directed_study import plot_graph

    sim = ns.build(args.scenario, overrides={"seed": args.seed})
    sim.train()
    mse = np.array([e.mse for e in sim.epochs])
    tail = mse[-100:]
    plot_graph(sim.run, Path(args.png), f"{sim.scenario.name} (seed {args.seed}), final MSE {mse[-1]:.1e}")
    print(f"final MSE {mse[-1]:.2e}; MSE < 1e-3 in {np.mean(tail < 1e-3):.0%} of the last {len(tail)} epochs; "
          f"sparsity {sim.epochs[-1].sparsity:.4f}; wrote {args.png}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("scenario")
    r.add_argument("out")
    r.add_argument("--seeds", type=int, default=3)
    r.add_argument("--grid", action="append", default=[])
    r.add_argument("--set", action="append", default=[])
    r.add_argument("--quiet", action="store_true")
    t = sub.add_parser("table")
    t.add_argument("out")
    t.add_argument("--by", nargs="*", default=[])
    t.add_argument("--sort", default="ever", choices=["ever", "end", "sparse", "sparsemax", "fail"])
    t.add_argument("--top", type=int, default=1000)
    t.add_argument("--min-end", type=float, default=0.5)
    g = sub.add_parser("graph")
    g.add_argument("scenario")
    g.add_argument("seed", type=int)
    g.add_argument("png")
    args = parser.parse_args()
    {"run": run, "table": table, "graph": graph}[args.command](args)


if __name__ == "__main__":
    main()
