"""Every plot kind draws the expected axes from real (small) run files, through the CLI too."""

from __future__ import annotations

import numpy as np
import pytest

import neurosim
from conftest import network_scenario, run_cli, run_main, with_changes, write_scenario
from neurosim.analysis import plots


def scenario(name: str, **changes) -> dict:
    """2 epochs of 60 digits in batches of 10 on a 784-8-6-10 network: 12 training batches."""
    return with_changes(network_scenario(name=name, seed=3, **{
        "data.train_size": 60, "topology.sizes": [784, 8, 6, 10], "training.epochs": 2, "training.batch_size": 10}),
        changes)


@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    """A layered run with a step trace and two layer-skipping runs differing in p."""
    root = tmp_path_factory.mktemp("plots")
    specs = {
        "layered": scenario("small layered", trace={"records": [{"banks": ["state"], "cadence": "step", "batches": [0]},
                                                                {"banks": ["weights"], "cadence": "epoch"}]}),
        "p1": scenario("p = 1 %", topology={"kind": "layer_skipping", "p": 0.01}),
        "p20": scenario("p = 20 %", topology={"kind": "layer_skipping", "p": 0.2}),
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


def test_p_sweep_plot_orders_runs_by_p(run_files):
    runs = [neurosim.open_run(run_files[k]) for k in ("p20", "p1")]
    fig = plots.p_sweep(runs)
    top, bottom = fig.axes
    assert top.get_xscale() == bottom.get_xscale() == "log" and bottom.get_yscale() == "log"
    assert bottom.get_xlabel() == "rewired fraction p (%)" and "error after epoch 1" in top.get_ylabel()
    train = top.get_lines()[0]
    np.testing.assert_allclose(train.get_xdata(), [1.0, 20.0])
    np.testing.assert_allclose(train.get_ydata(), [100 * runs[1].epoch["train_error"][0],
                                                   100 * runs[0].epoch["train_error"][0]])
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
    with pytest.raises(plots.PlotError, match="does not exist"):
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
