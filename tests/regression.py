"""Fingerprints of short runs of every shipped scenario kind, to keep refactors honest.

Each case is one ``neurosim run`` of a shipped scenario, shortened on the command line.
Its fingerprint holds, for every dataset of the run file (metrics, ledger, traces, final
device state, topology), the shape, dtype and SHA-256 of its bytes (and the values of
small ones, for readable diffs), plus the text of any report it writes. Left out: the
resolved configuration (``/config``, its text follows the schema) and wall-clock times.

``tests/data/regression.json`` holds the fingerprints recorded after the paper's split
weakly-clamped step landed, re-recorded once by the unification (issue 12) with every
recorded number unchanged and these deliberate changes only: backprop runs no longer
draw or record a β (``metrics/batch/beta``) and trace their memory cells under their own
names (``activation``, ``error``) instead of an empty ``u0`` and a stale ``ubeta``;
directed runs gained the generic metrics and the default traces. Re-recorded by issue 13
for one deliberate change: every run now limits the BLAS library to ``training.threads``
threads (default 1), so the floating-point sums of the matrix products no longer depend on
the machine's core count (the earlier fingerprints were of 2 BLAS threads, this machine's
default then, and they still pass with the limit lifted: checked when re-recording), and
again by issue 15 for new datasets only (``ledger/latency/*``, ``metrics/batch/steps``,
the report's latency column): every earlier dataset's bytes unchanged. ``test_regression.py`` reruns
every case and requires the same bytes: a change of shape must not change a single number. Re-record only when a
number is *meant* to change, and say so in the commit::

    python tests/regression.py --record
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).parent.parent
RECORDED = Path(__file__).parent / "data" / "regression.json"

CASES: dict[str, list[str]] = {
    "ep-layered": ["scenarios/quickstart.yaml", "--epochs", "2", "--max-batches", "4"],
    "ep-layer-skipping": ["scenarios/bit-depth-weights-skipping.yaml", "--epochs", "2",
                          "--set", "data.train_size=100", "--set", "data.test_size=60"],
    "ep-per-pair-step-trace": ["scenarios/quickstart.yaml", "--epochs", "1", "--max-batches", "2",
                               "--set", "trace.records=[{banks: [state], cadence: step, batches: [0], samples: [0, 3]},"
                                        "{banks: [u0, ubeta, bias, weights, delta_w], cadence: update}]"],
    "ep-quantised-stochastic": ["scenarios/quickstart.yaml", "--epochs", "2", "--max-batches", "3",
                                "--set", "devices=../devices/analog-4bit-stochastic.yaml"],
    "ep-vs-bp-8bit": ["scenarios/energy-ep-vs-bp.yaml", "--epochs", "1", "--max-batches", "3"],
    "deep-and-sparsity": ["scenarios/deep-and.yaml", "--epochs", "30", "--set", "directed.sparsity_start=20"],
    "deep-xor-4bit-stochastic": ["scenarios/deep-xor.yaml", "--epochs", "20",
                                 "--set", "devices=../devices/analog-4bit-stochastic.yaml"],
    "asymmetric-xor": ["scenarios/asym-xor.yaml", "--epochs", "20"],
}

SKIP = {"config", "metrics/epoch/seconds"}


def fingerprint_file(path: Path) -> dict:
    """Every dataset of a run file (but :data:`SKIP`): shape, dtype, SHA-256, small values."""
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, node):
            if not isinstance(node, h5py.Dataset) or name in SKIP:
                return
            data = node[()]
            if data.dtype.kind == "O":
                data = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in np.ravel(data)])
            data = np.ascontiguousarray(data)
            entry = {"shape": list(np.shape(data)), "dtype": str(data.dtype),
                     "sha256": hashlib.sha256(data.tobytes()).hexdigest()}
            if data.size <= 32 and data.dtype.kind in "fiub":
                entry["values"] = np.ravel(data).tolist()
            out[name] = entry
        f.visititems(visit)
    return out


def run_case(name: str, directory: Path) -> dict:
    """Run one case with the ``neurosim`` command line into ``directory``; its fingerprint."""
    from click.testing import CliRunner

    from neurosim.cli import cli

    out = directory / f"{name}.h5"
    args = CASES[name]
    result = CliRunner().invoke(cli, ["run", str(ROOT / args[0]), *args[1:], "--out", str(out), "--quiet"])
    if result.exit_code != 0:
        raise RuntimeError(f"case {name} failed: {result.output}") from result.exception
    fingerprint = {}
    for path in sorted(directory.glob(f"{name}*")):
        if path.suffix == ".h5":
            fingerprint[path.name] = fingerprint_file(path)
        elif path.suffix == ".md":
            fingerprint[path.name] = path.read_text().replace(str(directory), "RUNS")
    return fingerprint


def record() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        fingerprints = {name: run_case(name, Path(tmp)) for name in CASES}
    RECORDED.write_text(json.dumps(fingerprints, indent=1, sort_keys=True) + "\n")
    print(f"wrote {RECORDED}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit(__doc__)
    record()
