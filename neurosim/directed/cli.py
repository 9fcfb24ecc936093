"""Command-line parts of directed runs: ``neurosim run`` on a directed scenario and
``neurosim directed-study``."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from neurosim.directed.recorder import DirectedRecorder
from neurosim.directed.study import run_scenario, table, write_study
from neurosim.directed.train import DirectedEpoch, DirectedObserver, train_directed
from neurosim.errors import ConfigError
from neurosim.config.scenario import Scenario, load_scenario, parse_override


class EpochLine(DirectedObserver):
    """A progress bar over epochs with the current MSE, sparsity and Proposition 2 fraction."""

    def __init__(self, epochs: int, enabled: bool):
        self.bar = tqdm(total=epochs, unit="epoch", disable=not enabled, dynamic_ncols=True, leave=False)

    def on_epoch_end(self, record: DirectedEpoch) -> None:
        self.bar.set_postfix_str(f"MSE {record.mse:.2e} sparsity {100 * record.sparsity:.1f}% "
                                 f"stable {record.stable_fraction:.2f}", refresh=False)
        self.bar.update()


def run_directed(scenario: Scenario, out: Path, *, keep_partial: bool, quiet: bool) -> None:
    """Train one directed scenario and write its run file."""
    click.echo(f"{scenario.name}: {scenario.dynamics.kind} on complete_directed {scenario.topology.sizes}, "
               f"task {scenario.directed.task}, seed {scenario.seed}")
    progress = EpochLine(scenario.training.epochs, not quiet)
    with DirectedRecorder(out, scenario, keep_partial=keep_partial) as recorder:
        run = train_directed(scenario, observers=(recorder, progress))
        recorder.write_final_state(run)
    progress.bar.close()
    last = run.epochs[-1]
    converged = "not reached" if run.converged_epoch is None else f"after {run.converged_epoch} epoch(s)"
    click.echo(f"final MSE {last.mse:.3e} (MSE < {scenario.directed.converged_mse:g} {converged}), "
               f"sparsity {100 * last.sparsity:.2f} %, Proposition 2 met by {100 * last.stable_fraction:.0f} % "
               f"of neurons\nrun file: {out}")


@click.command("directed-study")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--seeds", type=click.IntRange(min=1), default=10, show_default=True, help="Models per scenario.")
@click.option("--epochs", type=click.IntRange(min=1), help="Override training.epochs.")
@click.option("--out", type=click.Path(file_okay=False), default="runs/directed-study", show_default=True,
              help="Folder for table.md, summary.json, mse.png and graph-*.png.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def directed_study(files: tuple[str, ...], seeds: int, epochs: int | None, out: str, quiet: bool) -> None:
    """Train independently seeded models of directed scenarios; write a table and the paper's Figures 1-2."""
    overrides = dict([parse_override(f"training.epochs={epochs}")]) if epochs else {}
    scenarios = []
    for file in files:  # every file validated before any training
        scenario = load_scenario(file, overrides)
        if scenario.dynamics.kind == "hopfield":
            raise ConfigError(file, "dynamics.kind", "directed-study needs dynamics.kind deep or asymmetric")
        scenarios.append((Path(file).stem, scenario))
    bar = tqdm(total=seeds * len(scenarios), unit="model", disable=quiet, dynamic_ncols=True)

    def on_model(label, k, run):
        bar.set_description_str(label, refresh=False)
        bar.update()

    results = [run_scenario(label, scenario, seeds, on_model) for label, scenario in scenarios]
    bar.close()
    written = write_study(results, Path(out))
    click.echo(table(results))
    click.echo("wrote " + ", ".join(str(p) for p in written))
