"""Every plot kind draws the expected axes from real (small) run files, through the CLI too."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import stats

import neurosim
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import directed_scenario, network_scenario, run_cli, run_main, with_changes, write_scenario
from neurosim.analysis import plots
from neurosim.runfile.read import SelectionError


def scenario(name: str, **changes) -> dict:
    """2 epochs of 60 digits in batches of 10 on a 784-8-6-10 network: 12 training batches."""
    return with_changes(network_scenario(name=name, seed=3, **{
        "data.train_size": 60, "topology.sizes": [784, 8, 6, 10], "training.epochs": 2, "training.batch_size": 10}),
        changes)


@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    """A layered run with a step trace, and layer-skipping runs: two values of p, two seeds of one."""
    root = tmp_path_factory.mktemp("plots")
    specs = {
        "layered": scenario("small layered", trace={"records": [{"banks": ["state"], "cadence": "step", "batches": [0]},
                                                                {"banks": ["weights"], "cadence": "epoch"}]}),
        "p1": scenario("p = 1 %", topology={"kind": "layer_skipping", "p": 0.01}),
        "p20": scenario("p = 20 %", topology={"kind": "layer_skipping", "p": 0.2}),
        "p20b": scenario("p = 20 %", seed=4, topology={"kind": "layer_skipping", "p": 0.2}),
        "bp": scenario("backprop", datapath="bp"),
        "deep": directed_scenario(name="deep and", **{"training.epochs": 3, "trace": {"records": [
            {"banks": ["state"], "cadence": "step", "batches": [0], "epochs": [0, 2]},
            {"banks": ["weights"], "cadence": "epoch"}]}}),
    }
    paths = {}
    for key, content in specs.items():
        paths[key] = root / f"{key}.h5"
        assert run_main("run", write_scenario(root, content, f"{key}.yaml"), "--out", paths[key], "--quiet") == 0
    return paths


def test_errors_plot_has_train_solid_and_test_dashed_per_run(run_files):
    runs = [neurosim.open_run(run_files[k]) for k in ("layered", "p1")]
    fig = plots.errors(runs)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "error (%)"
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"small layered — train", "small layered — test", "p = 1 % — train", "p = 1 % — test"}
    assert lines["small layered — train"].get_linestyle() == "-" and lines["small layered — test"].get_linestyle() == "--"
    np.testing.assert_allclose(lines["p = 1 % — test"].get_ydata(), 100 * runs[1].epoch["test_error"])


def test_rates_plot_is_a_log_panel_per_run_of_the_moving_average(run_files):
    runs = [neurosim.open_run(run_files[k]) for k in ("layered", "p20")]
    fig = plots.rates(runs)
    assert [ax.get_title() for ax in fig.axes] == ["small layered", "p = 20 %"]
    for ax, run in zip(fig.axes, runs):
        assert ax.get_yscale() == "log" and ax.get_xlabel() == "training batch"
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels == ["layers 0-1", "layers 1-2", "layers 2-3"]
        first = ax.get_lines()[0].get_ydata()
        column = run.batch["rms_correction"][:, run.layer_pairs.index("0-1")]
        assert len(first) == len(column) == 12
        assert first[5] == pytest.approx(column[0:11].mean())  # centred window of 11
        assert first[0] == pytest.approx(column[0:6].mean())  # shrunk at the start
    assert "RMS correction" in fig.axes[0].get_ylabel()
    every = plots.rates(runs[1:], pairs="all")
    assert len(every.axes[0].get_lines()) == len(runs[1].layer_pairs) > 3


def test_moving_average_is_a_centred_mean():
    values = np.arange(20.0) ** 2
    smooth = plots.moving_average(values, 11)
    for k in range(20):
        window = values[max(0, k - 5):k + 6]
        assert smooth[k] == pytest.approx(window.mean())


def _errorbar(ax, label: str):
    """The errorbar container drawn with ``label``: its line's points and its bars' half-lengths."""
    container = next(c for c in ax.containers if c.get_label() == label)
    line, _, (bars,) = container
    half = [abs(segment[1, 1] - segment[0, 1]) / 2 for segment in bars.get_segments()]
    return line.get_xdata(), line.get_ydata(), half


def test_p_sweep_plot_orders_p_and_draws_the_mean_and_interval_of_the_seeds(run_files):
    """Two seeds at p = 20 %: the line goes through their mean, the bar spans their 95 % t
    interval (t_{0.975, 1} · s/√2), and each run is a dot; p = 1 % has one run and no bar."""
    runs = [neurosim.open_run(run_files[k]) for k in ("p20", "p1", "p20b")]
    fig = plots.p_sweep(runs)
    top, bottom = fig.axes
    assert top.get_xscale() == bottom.get_xscale() == "log" and bottom.get_yscale() == "log"
    assert bottom.get_xlabel() == "rewired fraction p (%)" and "error after epoch 1" in top.get_ylabel()
    x, y, half = _errorbar(top, "training error")
    np.testing.assert_allclose(x, [1.0, 20.0])
    twenty = [100 * runs[k].epoch["train_error"][0] for k in (0, 2)]
    np.testing.assert_allclose(y, [100 * runs[1].epoch["train_error"][0], np.mean(twenty)])
    expected = stats.t.ppf(0.975, 1) * np.std(twenty, ddof=1) / np.sqrt(2)
    np.testing.assert_allclose(half, [0.0, expected], atol=1e-9)
    dots = [line for line in top.get_lines() if line.get_marker() == "." and line.get_xdata()[0] == 20.0]
    assert sorted(np.concatenate([d.get_ydata() for d in dots])) == pytest.approx(
        sorted(twenty + [100 * runs[k].epoch["test_error"][0] for k in (0, 2)]))
    assert "1–2 seeds per p" in top.get_title()
    with pytest.raises(plots.PlotError, match="needs layer-skipping runs"):
        plots.p_sweep([neurosim.open_run(run_files["layered"])])


def test_trace_plot_shades_phases_and_histograms_every_pair(run_files):
    run = neurosim.open_run(run_files["layered"])
    fig = plots.trace(run, neurons=[(1, 3), (3, 9)])
    top, *hists = fig.axes
    assert top.get_xlabel().startswith("integration step") and "state s" in top.get_ylabel()
    spans = [p for p in top.patches]
    assert len(spans) == 2  # free and weakly-clamped phases shaded
    lines = top.get_lines()
    assert [line.get_label() for line in lines] == ["neuron 3 of layer 1", "neuron 9 of layer 3"]
    step = run.trace("state", "step")
    first = (step.epoch == 0) & (step.batch == 0)
    np.testing.assert_array_equal(lines[1].get_ydata(), step.layer(3)[first, 0, 9])
    assert [ax.get_xlabel() for ax in hists] == [f"weight, layers {p} (dimensionless)" for p in ("0-1", "1-2", "2-3")]
    with pytest.raises(plots.PlotError, match=r"--neuron 4:0: no layer 4 \(non-input layers 1, 2, 3"):
        plots.trace(run, neurons=[(4, 0)])


def test_trace_plot_falls_back_to_phase_end_states(run_files):
    fig = plots.trace(neurosim.open_run(run_files["p1"]))  # default policy: no step trace
    assert fig.axes[0].get_xlabel().startswith("epoch")


@pytest.mark.parametrize("kind, files", [("errors", ["layered", "p1"]), ("rates", ["layered", "p1", "p20"]),
                                         ("p-sweep", ["p1", "p20"]), ("trace", ["layered"])])
@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_plot_command_writes_an_image(kind, files, suffix, magic, run_files, tmp_path, monkeypatch, capsys):
    out = tmp_path / f"figure{suffix}"
    code, stdout, err = run_cli(monkeypatch, capsys, "plot", *[run_files[f] for f in files], "--kind", kind,
                                "--out", out)
    assert code == 0, err
    assert out.read_bytes().startswith(magic) and f"wrote {out}" in stdout


def test_plot_command_rejects_bad_requests(run_files, tmp_path, monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, "plot", run_files["layered"], "--kind", "errors",
                           "--out", tmp_path / "x.svg")
    assert code == 1 and "must end in .png or .pdf" in err
    code, _, err = run_cli(monkeypatch, capsys, "plot", tmp_path / "none.h5", "--kind", "errors",
                           "--out", tmp_path / "x.png")
    assert code == 1 and "no such run file" in err
    code, _, err = run_cli(monkeypatch, capsys, "plot", run_files["layered"], "--kind", "trace",
                           "--neuron", "x", "--out", tmp_path / "x.png")
    assert code != 0 and "LAYER:INDEX" in err
    assert list(tmp_path.iterdir()) == []


# -- selections are checked against the run file -------------------------------------------------


@pytest.mark.parametrize("selection, message", [
    ({"epoch": 2}, r"--epoch 2: .*trace state/step holds no epoch 2 \(it holds epochs 0, 1\); "
                   r"the run has 2 completed epoch\(s\)"),
    ({"epoch": -1}, r"--epoch -1: .*holds no epoch -1 \(it holds epochs 0, 1\)"),
    ({"epoch": 1, "batch": 3}, r"--batch 3: .*holds no batch 3 \(it holds batches 0 in epoch 1\)"),
    ({"sample": 10}, r"--sample 10: .*holds no sample 10 \(it holds samples 0–9\)"),
    ({"neurons": [(2, 6)]}, r"--neuron 2:6: layer 2 has neurons 0–5"),
    ({"neurons": [(0, 0)]}, r"--neuron 0:0: no layer 0 \(non-input layers 1, 2, 3"),
    ({"pairs": "every"}, r"--pairs 'every': use adjacent or all"),
])
def test_trace_plot_refuses_a_selection_the_run_file_does_not_hold(run_files, selection, message):
    with pytest.raises(plots.PlotError, match=message):
        plots.trace(neurosim.open_run(run_files["layered"]), **selection)


@settings(max_examples=25, deadline=None)
@given(epoch=st.integers(-3, 6), batch=st.one_of(st.none(), st.integers(0, 4)))
def test_trace_plot_draws_exactly_the_selected_epoch_and_batch_or_refuses(run_files, epoch, batch):
    """The directed run traces the steps of batch 0 of epochs 0 and 2 (of 3)."""
    run = neurosim.open_run(run_files["deep"])
    step = run.trace("state", "step")
    if epoch not in (0, 2):
        with pytest.raises(plots.PlotError, match=rf"--epoch {epoch}: .*holds no epoch {epoch} \(it holds epochs 0, 2\)"
                                                  r"; the run has 3 completed epoch\(s\)"):
            plots.trace(run, epoch=epoch, batch=batch)
        return
    if batch not in (None, 0):
        with pytest.raises(plots.PlotError, match=rf"--batch {batch}: .*\(it holds batches 0 in epoch {epoch}\)"):
            plots.trace(run, epoch=epoch, batch=batch)
        return
    fig = plots.trace(run, epoch=epoch, batch=batch)
    top = fig.axes[0]
    assert top.get_title().endswith(f"epoch index {epoch}, batch 0, example 0 of the batch")
    drawn = top.get_lines()[0].get_ydata()
    np.testing.assert_array_equal(drawn, step.values[step.events(epoch=epoch, batch=0), 0, step.column(1, 0)])
    plt.close(fig)


def test_epoch_and_batch_do_not_apply_to_phase_end_states(run_files):
    """The default trace policy keeps phase-end states, drawn over every epoch: --epoch 99
    used to be ignored there, drawing every epoch as if it were valid."""
    run = neurosim.open_run(run_files["p1"])
    with pytest.raises(plots.PlotError, match=r"--epoch 99: .* traces the state at phase ends only"):
        plots.trace(run, epoch=99)
    with pytest.raises(plots.PlotError, match=r"--batch 0: .* traces the state at phase ends only"):
        plots.trace(run, batch=0)


def test_backprop_phase_end_states_are_drawn_by_their_own_phases(run_files):
    fig = plots.trace(neurosim.open_run(run_files["bp"]))
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels[:2] == ["neuron 0 of layer 1, end of forward phase", "neuron 0 of layer 1, end of backward phase"]
    assert all(len(line.get_xdata()) == 2 for line in fig.axes[0].get_lines())  # one point per epoch


def test_a_directed_run_file_reads_and_plots_its_one_block(run_files):
    run = neurosim.open_run(run_files["deep"])
    assert run.layer_pairs == ["W"]
    assert [line.get_label() for line in plots.rates([run], window=1).axes[0].get_lines()] == ["layers W"]
    assert [ax.get_xlabel() for ax in plots.trace(run).axes[1:]] == ["weight, layers W (dimensionless)"]


def test_trace_selection_errors_name_the_coordinate_value_and_what_is_held(run_files):
    step = neurosim.open_run(run_files["layered"]).trace("state", "step")
    assert len(step.events(epoch=1, batch=0, phase="free")) == 5
    with pytest.raises(SelectionError, match=r"holds no phase 'forward' \(it holds phases free, weakly-clamped "
                                             r"in epoch 1 in batch 0\)"):
        step.events(epoch=1, batch=0, phase="forward")
    with pytest.raises(SelectionError, match=r"holds no neuron 3:10 \(it holds neurons 0–9 of layer 3\)"):
        step.column(3, 10)
    with pytest.raises(SelectionError, match=r"holds no layer 7 \(it holds layers 1, 2, 3\)"):
        step.layer(7)
    weights = neurosim.open_run(run_files["layered"]).trace("weights", "epoch")
    with pytest.raises(SelectionError, match=r"holds no batch 0 \(it holds no batch coordinate"):
        weights.events(batch=0)


def test_plot_command_names_the_option_and_writes_nothing(run_files, tmp_path, monkeypatch, capsys):
    out = tmp_path / "trace.png"
    code, _, err = run_cli(monkeypatch, capsys, "plot", run_files["layered"], "--kind", "trace", "--epoch", "99",
                           "--out", out)
    assert code == 1 and "error: --epoch 99: " in err and "it holds epochs 0, 1" in err
    code, _, err = run_cli(monkeypatch, capsys, "plot", run_files["layered"], "--kind", "trace", "--neuron", "1:8",
                           "--out", out)
    assert code == 1 and "error: --neuron 1:8: layer 1 has neurons 0–7" in err
    assert list(tmp_path.iterdir()) == []


@given(count=st.integers(1, 40))
def test_every_layer_pair_gets_its_own_colour(count):
    colours = [tuple(np.atleast_1d(c)) if not isinstance(c, str) else c for c in plots.pair_colours(count)]
    assert len(colours) == count == len(set(colours))
