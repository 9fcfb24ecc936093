"""The ``neurosim`` command line (click: subcommands, typed options and help for free)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click
from tqdm import tqdm

from neurosim.studies import bitdepth as bit_depth
from neurosim.config.base import parse_override, read_yaml
from neurosim.config.scenario import load_scenario
from neurosim.errors import ConfigError, NeurosimError, RunInterrupted
from neurosim.observe.progress import Progress
from neurosim.observe.recorder import recording
from neurosim.observe.tracing import check as check_trace
from neurosim.runfile.layout import partial_path
from neurosim.runfile.outputs import OutputError, check_writable, claim
from neurosim.analysis.report import report as energy_report
from neurosim.training.loop import TrainingRun, prepare, train_run
from neurosim.training.setup import is_directed
from neurosim.studies.directed_study import run_scenario, table, write_study


def _prepare(file: str, overrides: tuple[str, ...]) -> TrainingRun:
    """Load, validate and check a scenario against its data, build its model and controller;
    errors name ``file``."""
    try:
        scenario = load_scenario(file, dict(parse_override(o) for o in overrides))
        run = prepare(scenario)  # builds the model and the controller: every check
        check_trace(scenario.trace, scenario.training.batch_size, run.controller)
    except ConfigError as exc:
        if exc.file is None:
            raise ConfigError(file, exc.key_path, exc.reason) from None
        raise
    return run


def _summary(run: TrainingRun, out: Path) -> None:
    last = run.epochs[-1]
    click.echo(f"\n{run.scenario.name}: final train error {100 * last.train_error:.2f}%, "
               f"test error {100 * last.test_error:.2f}% after {len(run.epochs)} epoch(s)")
    if last.extra:
        click.echo("last epoch: " + ", ".join(f"{name} {value:.4g}" for name, value in last.extra.items()))
    rms = run.rms_correction
    if len(rms):
        tail = rms[-min(len(rms), 100):].mean(0)
        click.echo("RMS correction per synapse block (mean of the last batches): " +
                   ", ".join(f"{name} {value:.2e}" for name, value in zip(run.block_names, tail)))
    click.echo(f"run file: {out}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="neurosim")
def cli() -> None:
    """Simulate analog neuromorphic hardware that learns with Equilibrium Propagation."""


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override one scenario key.")
def validate(file: str, overrides: tuple[str, ...]) -> None:
    """Check a scenario file (schema, ranges, layer sizes against the data) and write nothing."""
    run = _prepare(file, overrides)
    scenario, model = run.scenario, run.model
    if is_directed(scenario):
        what = f"{scenario.dynamics.kind} on complete_directed {scenario.topology.sizes}, task {scenario.directed.task}"
    else:
        what = (f"{model.topology.kind} {scenario.topology.sizes}, "
                f"{model.topology.n_connections:,} connections")
    click.echo(f"{file}: valid — {scenario.name}: {what}, {scenario.training.epochs} epoch(s)")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False),
              help="Run file to write [default: runs/<scenario file name>.h5; with --set or --epochs, "
                   "runs/<scenario file name>-<scenario digest>.h5].")
@click.option("--epochs", type=click.IntRange(min=1), help="Override training.epochs.")
@click.option("--max-batches", type=click.IntRange(min=1), help="Limit training and test batches per epoch.")
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override one scenario key.")
@click.option("--resume", is_flag=True,
              help="Continue the unfinished run at --out (RUN.h5.partial, left by a killed or interrupted run) "
                   "from its last completed epoch; start it if there is none; nothing to do if it is complete.")
@click.option("--overwrite", is_flag=True,
              help="Replace an existing run file at --out (once the new run completes) or discard an unfinished one.")
@click.option("--keep-partial", is_flag=True,
              help="Keep RUN.h5.partial even when the run fails before completing an epoch.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run(file: str, out: str | None, epochs: int | None, max_batches: int | None, overrides: tuple[str, ...],
        resume: bool, overwrite: bool, keep_partial: bool, quiet: bool) -> None:
    """Train the network a scenario file describes and write one HDF5 run file.

    An existing output is never replaced unless --overwrite is given; a run stopped by
    Ctrl-C, SIGTERM or a crash keeps its completed epochs, and --resume continues it.
    """
    if resume and overwrite:
        raise click.UsageError("give --resume (continue the unfinished run) or --overwrite (start again), not both")
    if epochs is not None:
        overrides += (f"training.epochs={epochs}",)
    run = _prepare(file, overrides)  # every check before any output
    scenario = run.scenario
    if out is not None:
        out_path = Path(out)
    else:  # a changed scenario gets its own default file: runs never overwrite each other by default
        suffix = f"-{scenario.digest()[:8]}" if overrides else ""
        out_path = Path("runs") / f"{Path(file).stem}{suffix}.h5"
    compare = list(getattr(scenario, "compare", None) or [])
    paths = [out_path.with_name(f"{out_path.stem}-{d}{out_path.suffix}") for d in compare] or [out_path]
    variants = [scenario.model_copy(update={"datapath": d, "compare": []}) for d in compare] or [scenario]
    inputs = _inputs(file, scenario, overrides)
    plans = [claim(p, v.digest(), inputs=inputs, resume=resume, overwrite=overwrite) for p, v in zip(paths, variants)]
    report_path = out_path.with_name(f"{out_path.stem}-report.md")
    if compare:
        _claim_text_output(report_path, inputs, overwrite)
    for path, variant, plan in zip(paths, variants, plans):
        if plan == "complete":
            click.echo(f"{path}: already complete, nothing to resume")
            continue
        variant_run = run if variant is scenario else prepare(variant, run.dataset)
        _train_and_record(variant_run, path, max_batches, keep_partial, quiet, resume=plan == "resume")
    if compare:
        report_path.write_text(energy_report(paths, "md"))
        click.echo(f"energy report: {report_path}")


def _inputs(file: str, scenario, overrides: tuple[str, ...]) -> tuple[Path, ...]:
    """The files a run reads: the scenario file, its device file, its IDX data files."""
    found = [Path(file)]
    devices = dict(parse_override(o) for o in overrides).get("devices")
    if devices is None:
        try:
            devices = (read_yaml(file) or {}).get("devices")
        except ConfigError:
            devices = None
    if isinstance(devices, str):
        found.append(Path(file).parent / devices)
    data = getattr(scenario, "data", None)
    if data is not None and data.path is not None:
        directory = Path(file).parent / data.path
        found += [p for p in directory.iterdir() if p.is_file()] if directory.is_dir() else []
    return tuple(found)


def _claim_text_output(path: Path, inputs: tuple[Path, ...], overwrite: bool, option: str = "--out") -> None:
    """Refuse to write a report over an input, or over an existing file without --overwrite."""
    if any(path.resolve() == given.resolve() for given in inputs):
        raise OutputError(f"{option}: {path} is an input of this run; choose another output")
    check_writable(path, option)
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: exists; give --overwrite to replace it, or choose another --out")


def _train_and_record(run: TrainingRun, out_path: Path, max_batches: int | None, keep_partial: bool,
                      quiet: bool, resume: bool = False) -> None:
    scenario = run.scenario
    if is_directed(scenario):
        click.echo(f"{scenario.name}: {scenario.dynamics.kind} on complete_directed {scenario.topology.sizes}, "
                   f"task {scenario.directed.task}, seed {scenario.seed}")
    else:
        click.echo(f"{scenario.name}: {scenario.datapath.upper()} on {scenario.topology.kind} "
                   f"{scenario.topology.sizes}, {run.dataset.name} ({len(run.dataset.train_x)} train / "
                   f"{len(run.dataset.test_x)} test), seed {scenario.seed}")
    progress = Progress(scenario.training.epochs, enabled=not quiet, per_epoch=not is_directed(scenario),
                        steps=bool(getattr(scenario.dynamics, "settle", None)))
    with recording(out_path, scenario, resume=resume, keep_partial=keep_partial,
                   max_batches=max_batches) as observers:
        observers.restore(run)
        done = observers.epochs_completed
        if done:
            click.echo(f"resuming {partial_path(out_path)} after epoch {done} of {scenario.training.epochs}")
            progress.skip(done)
        train_run(run, epochs=scenario.training.epochs - done, max_batches=max_batches,
                  observers=[*observers, progress])
    progress.close()
    _summary(run, out_path)


@cli.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["md", "json", "csv"]), default="md", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="File to write [default: standard output].")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Also draw the energy per example by phase (.png or .pdf).")
def report(runs: tuple[str, ...], fmt: str, out: str | None, plot_path: str | None) -> None:
    """Energy and memory-access report of a run's action ledger; with two runs of one network
    (EP and BP), a side-by-side comparison and the paper's Table 1."""
    from neurosim.analysis.report import LedgerTable, figure

    text = energy_report(list(runs), fmt)
    if plot_path:
        click.echo(f"plot: {figure([LedgerTable.load(r) for r in runs], plot_path)}", err=out is None)
    if out is None:
        click.echo(text, nl=False)
        return
    _claim_text_output(Path(out), tuple(Path(r) for r in runs), overwrite=True)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(text)
    click.echo(f"report: {out}")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--grid", "grid", multiple=True, metavar="KEY.PATH=V1,V2,...",
              help="Sweep a key over these values (read as YAML; quote strings holding commas). Repeatable.")
@click.option("--seeds", type=click.IntRange(min=1), help="Repeat every point with seeds seed, seed+1, ... (N of them).")
@click.option("--out", type=click.Path(file_okay=False), help="Sweep directory [default: runs/<scenario file name>-sweep].")
@click.option("--workers", type=click.IntRange(min=1), help="Local worker processes [default: one per core].")
@click.option("--scheduler", metavar="ADDRESS", help="Run on an existing Dask cluster, e.g. tcp://host:8786.")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True,
              help="Extra attempts for a point that crashes (not for one whose simulation fails).")
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override one key of every point.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def sweep(file: str, grid: tuple[str, ...], seeds: int | None, out: str | None, workers: int | None,
          scheduler: str | None, retries: int, overrides: tuple[str, ...], quiet: bool) -> None:
    """Run a grid of points of a scenario (each one ordinary run file) on local processes or a Dask cluster.

    Re-running the same command skips the complete points and runs the others.
    """
    from neurosim.studies.grid import axes_of, expand
    from neurosim.config.base import set_key
    from neurosim.studies.sweep import run_sweep
    from neurosim.studies.sweep_summary import write_summary

    if workers is not None and scheduler is not None:
        raise click.UsageError("give --workers (a local cluster) or --scheduler (an existing one), not both")
    content, axes = axes_of(file, grid, seeds)
    for text in overrides:
        key, value = parse_override(text)
        set_key(content, key, value)
    points = expand(file, content, axes)
    out_dir = Path(out) if out else Path("runs") / f"{Path(file).stem}-sweep"
    click.echo(f"{file}: {len(points)} point(s) over {', '.join(a.key for a in axes) or 'no axis'} -> {out_dir}")
    manifest = run_sweep(out_dir, file, content, axes, points, workers=workers, scheduler=scheduler,
                         retries=retries, progress=not quiet)
    write_summary(out_dir)
    entries = list(manifest.entries.values())
    bad = [e for e in entries if e.status != "complete"]
    click.echo(f"{len(entries) - len(bad)} of {len(entries)} point(s) complete; "
               f"summary: {out_dir / 'summary.csv'}, manifest: {out_dir / 'sweep.json'}")
    for entry in bad:
        click.echo(f"  {entry.status}: {entry.name}: {entry.error}", err=True)
    if bad:
        hint = ("; re-run the same command to retry the ones that crashed (a simulation or configuration error "
                "repeats until the scenario changes)") if any(e.retryable or e.status == "interrupted" for e in bad) \
            else ""
        raise NeurosimError(f"{len(bad)} of {len(entries)} point(s) not complete (see above){hint}")


@cli.command("directed-study")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--seeds", type=click.IntRange(min=1), default=10, show_default=True, help="Models per scenario.")
@click.option("--epochs", type=click.IntRange(min=1), help="Override training.epochs.")
@click.option("--out", type=click.Path(file_okay=False), default="runs/directed-study", show_default=True,
              help="Folder for table.md, summary.json, mse.png and graph-*.png.")
@click.option("--devices", "device_files", multiple=True, type=click.Path(dir_okay=False, exists=True),
              help="Run every scenario on this device file too (repeatable): one row per scenario and device file.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def directed_study(files: tuple[str, ...], seeds: int, epochs: int | None, out: str, device_files: tuple[str, ...],
                   quiet: bool) -> None:
    """Train independently seeded models of directed scenarios; write a table and the paper's Figures 1-2."""
    overrides = dict([parse_override(f"training.epochs={epochs}")]) if epochs else {}
    scenarios = []
    for file in files:  # every file and device file validated before any training
        for devices in device_files or (None,):
            label = Path(file).stem + ("" if devices is None else f"@{Path(devices).stem}")
            chip = {} if devices is None else {"devices": str(Path(devices).resolve())}
            scenario = load_scenario(file, {**overrides, **chip})
            if not is_directed(scenario):
                raise ConfigError(file, "dynamics.kind", "directed-study needs dynamics.kind deep or asymmetric")
            scenarios.append((label, scenario))
    bar = tqdm(total=seeds * len(scenarios), unit="model", disable=quiet, dynamic_ncols=True)

    def on_model(label, k, run):
        bar.set_description_str(label, refresh=False)
        bar.update()

    results = [run_scenario(label, scenario, seeds, on_model) for label, scenario in scenarios]
    bar.close()
    written = write_study(results, Path(out))
    click.echo(table(results))
    click.echo("wrote " + ", ".join(str(p) for p in written))


def _neuron(text: str) -> tuple[int, int]:
    try:
        layer, index = (int(v) for v in text.split(":"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not LAYER:INDEX, e.g. 2:17", param_hint="--neuron") from None
    return layer, index


PLOT_KINDS = ["errors", "rates", "p-sweep", "trace", "sweep"]


def _plot_kind(paths: tuple[Path, ...], kind: str | None) -> str:
    """The plot kind: ``sweep`` for one directory, else ``--kind``; refuse a mix of directories and files."""
    directories = [p for p in paths if p.is_dir()]
    if directories and len(paths) > 1:
        raise click.UsageError(f"{directories[0]} is a directory: a sweep directory is drawn alone")
    if kind is None:
        if directories:
            return "sweep"
        raise click.UsageError("give --kind (errors, rates, p-sweep, trace) to plot run files")
    if kind == "sweep" and not directories:
        raise click.UsageError(f"--kind sweep draws a sweep directory; {paths[0]} is not a directory")
    if kind != "sweep" and directories:
        raise click.UsageError(f"{directories[0]} is a directory: --kind {kind} draws run files "
                               "(a sweep directory: --kind sweep)")
    return kind


@cli.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--kind", type=click.Choice(PLOT_KINDS),
              help="errors: train/test error per epoch (paper Fig. 3); rates: RMS correction per layer pair "
                   "(Fig. 4); p-sweep: first-epoch error and RMS correction against p (Fig. 5); trace: neuron "
                   "trajectories and weight histograms; sweep: a sweep directory's error against a swept key "
                   "[default: sweep for one directory].")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Image file, .png or .pdf [required, except for a sweep: DIRECTORY/sweep.png].")
@click.option("--pairs", type=click.Choice(["adjacent", "all"]), default="adjacent", show_default=True,
              help="Layer pairs to draw: adjacent layers only (the paper's), or every pair.")
@click.option("--neuron", "neurons", multiple=True, metavar="LAYER:INDEX",
              help="trace: a neuron to draw [default: neuron 0 of every non-input layer].")
@click.option("--epoch", type=int, help="trace: epoch whose first traced batch to draw [default: the first].")
@click.option("--sample", type=int, default=0, show_default=True, help="trace: example of the batch to draw.")
@click.option("--x", "x_key", metavar="KEY.PATH",
              help="sweep: swept key on the x axis [default: the first one with several values].")
@click.option("--metric", type=click.Choice(["test_error", "train_error"]),
              help="sweep: error to draw [default: test_error].")
def plot(runs: tuple[Path, ...], kind: str | None, out: Path | None, pairs: str, neurons: tuple[str, ...],
         epoch: int | None, sample: int, x_key: str | None, metric: str | None) -> None:
    """Draw a figure from run files (RUN.h5 or RUN.h5.partial) or from one sweep directory."""
    kind = _plot_kind(runs, kind)
    if kind == "sweep":
        from neurosim.studies.sweep_plot import plot_sweep

        written = plot_sweep(runs[0], out or runs[0] / "sweep.png", x_key, metric or "test_error")
        click.echo(f"wrote {written}")
        return
    if x_key is not None or metric is not None:
        raise click.UsageError("--x and --metric apply to --kind sweep")
    if out is None:
        raise click.UsageError(f"--kind {kind} needs --out")
    from neurosim.analysis import plots
    from neurosim.runfile.read import open_run

    loaded = [open_run(path) for path in runs]
    if kind == "errors":
        fig = plots.errors(loaded)
    elif kind == "rates":
        fig = plots.rates(loaded, pairs)
    elif kind == "p-sweep":
        fig = plots.p_sweep(loaded, pairs)
    else:
        if len(loaded) > 1:
            raise click.UsageError("--kind trace draws one run")
        fig = plots.trace(loaded[0], [_neuron(n) for n in neurons] or None, epoch, sample, pairs)
    click.echo(f"wrote {plots.save(fig, out)}")


def _study_run_options(command):
    """The options every seeded study (``bitdepth``, ``tolerance``) takes for running its points."""
    for option in reversed([
        click.option("--max-batches", type=click.IntRange(min=1),
                     help="Shorten every run: data.train_size and data.test_size become N x batch_size."),
        click.option("--workers", type=click.IntRange(min=1), help="Local worker processes [default: one per core]."),
        click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override one scenario key."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
    ]):
        command = option(command)
    return command


def _int_list(ctx, param, value: str) -> list[int]:
    """Comma-separated integers, in the order given (the study checks their range and repeats)."""
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers") from None


def _names(ctx, param, value: str) -> list[str]:
    """Comma-separated names, in the order given (the study checks them)."""
    return [v.strip() for v in value.split(",") if v.strip()]


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--signal", type=click.Choice(list(bit_depth.SIGNALS)), default="weights", show_default=True,
              help="Which signal's quantisation points to vary.")
@click.option("--bits", "bits", default="2,4,6,8,10,12,14", show_default=True, callback=_int_list,
              help="Comma-separated bit depths.")
@click.option("--rounding", "roundings", default="nearest,stochastic", show_default=True, callback=_names,
              help="Comma-separated rounding modes.")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Runs per setting (and of the float reference): seeds seed, seed+1, ...")
@click.option("--margin", type=click.FloatRange(min=0.0), default=0.02, show_default=True,
              help="Tolerated test-error increase over float (fraction, 0.02 = 2 points).")
@click.option("--out", type=click.Path(file_okay=False),
              help="Study directory [default: runs/<file name>-bitdepth].")
@_study_run_options
def bitdepth(file: str, signal: str, bits: list[int], roundings: list[str], seeds: int, margin: float,
             out: str | None, max_batches: int | None, workers: int | None, overrides: tuple[str, ...],
             quiet: bool) -> None:
    """Train a scenario at several bit depths of one signal over several seeds against float;
    write a table with 95 % confidence intervals (CSV, Markdown), a plot, and the lowest bit
    depth within the margin.

    Re-running the same command skips the complete runs and runs the others.
    """
    from neurosim.studies import tolerance as tolerance_study

    content, _ = tolerance_study.read_scenario(file, dict(parse_override(o) for o in overrides))
    _, manifest = bit_depth.study(file, content, signal, bits, roundings, seeds, margin, out, max_batches, workers,
                                  progress=not quiet, report=click.echo)
    _refuse_unfinished(manifest)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--param", "param", required=True, metavar="KEY.PATH=V1,V2,...",
              help="The parameter and its values (read as YAML), e.g. synapse.pulsed.up_down=0.1,0.3; a key under "
                   "synapse., neuron., timing. or energy. is a device field (set through device_overrides).")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Runs per value (and of the reference): seeds seed, seed+1, ...")
@click.option("--margin", type=click.FloatRange(min=0.0), default=0.02, show_default=True,
              help="Tolerated test-error increase over the reference (fraction, 0.02 = 2 points).")
@click.option("--reference", type=click.Choice(["given", "ideal"]), default="given", show_default=True,
              help="Compare with the scenario as given, or with every device ideal.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Study directory [default: runs/<file name>-tolerance-<parameter>].")
@_study_run_options
def tolerance(file: str, param: str, seeds: int, margin: float, reference: str, out: str | None,
              max_batches: int | None, workers: int | None, overrides: tuple[str, ...], quiet: bool) -> None:
    """Sweep one (device) parameter over several seeds against a reference; write a table with
    95 % confidence intervals (CSV, Markdown), a plot, and the tolerable range.

    Re-running the same command skips the complete runs and runs the others.
    """
    from neurosim.studies import tolerance as study

    content, _ = study.read_scenario(file, dict(parse_override(o) for o in overrides))
    result, manifest = study.study(file, content, param, seeds, margin, reference, out, max_batches, workers,
                                   progress=not quiet, report=click.echo)
    _refuse_unfinished(manifest)


def _refuse_unfinished(manifest) -> None:
    """List a study's runs that did not complete; an error (exit 1) when re-running would continue some."""
    unfinished = [e for e in manifest.entries.values() if e.status in ("pending", "interrupted") or e.retryable]
    for entry in manifest.entries.values():
        if entry.status != "complete":
            click.echo(f"  {entry.status}: {entry.name}: {entry.error}", err=True)
    if unfinished:
        raise NeurosimError(f"{len(unfinished)} run(s) not complete (see above); re-run the same command to "
                            "continue them")


def main() -> None:
    """Entry point: user errors print one clear message and exit 1, without a traceback."""
    try:
        cli.main(standalone_mode=False)
    except RunInterrupted as exc:
        click.echo(f"\n{exc}", err=True)
        if exc.epochs_completed:
            args = [a for a in sys.argv[1:] if a != "--overwrite"]
            again = shlex.join(["neurosim", *args]) + ("" if "--resume" in args else " --resume")
            click.echo(f"continue it with: {again}", err=True)
        sys.exit(130)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except NeurosimError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
