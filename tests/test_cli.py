"""The command line end to end: bad input gets one clear message and no output file."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from conftest import run_cli, write_scenario

GOOD = {
    "name": "cli test",
    "seed": 2,
    "data": {"source": "embedded", "train_size": 60, "test_size": 40},
    "topology": {"kind": "layered", "sizes": [784, 12, 10]},
    "dynamics": {"t_free": 5, "t_clamped": 2},
    "training": {"epochs": 2, "batch_size": 20, "learning_rate": 0.05},
}


def write(tmp_path, content, name="scenario.yaml"):
    return write_scenario(tmp_path, content, name)


def with_change(key_path, value):
    content = yaml.safe_load(yaml.safe_dump(GOOD))
    node = content
    keys = key_path.split(".")
    for key in keys[:-1]:
        node = node[key]
    if value is DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return content


DELETE = object()


def test_run_writes_the_documented_run_file(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run.h5"
    code, stdout, _ = run_cli(monkeypatch, capsys, "run", write(tmp_path, GOOD), "--out", out, "--quiet")
    assert code == 0, stdout
    assert "test error" in stdout
    with h5py.File(out) as f:
        assert yaml.safe_load(f["config"][()].decode())["name"] == "cli test"
        assert f.attrs["seed"] == 2 and f.attrs["status"] == "complete" and f.attrs["neurosim_version"]
        assert f["metrics/epoch/train_error"].shape == (2,)
        assert f["metrics/epoch/test_error"].shape == (2,)
        assert f["metrics/epoch/cost"].shape == (2,)
        rms = f["metrics/batch/rms_correction"]
        assert rms.shape == (6, 2)  # 3 batches × 2 epochs, pairs 0-1 and 1-2
        assert list(rms.attrs["layer_pairs"]) == ["0-1", "1-2"]
        assert np.all(rms[()] > 0)
        assert f["final/weights/0-1"].shape == (784, 12)
    assert not Path(str(out) + ".partial").exists()


def test_max_batches_and_epochs_options(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run.h5"
    code, _, _ = run_cli(monkeypatch, capsys, "run", write(tmp_path, GOOD), "--out", out, "--quiet",
                         "--epochs", 1, "--max-batches", 1)
    assert code == 0
    with h5py.File(out) as f:
        assert f["metrics/batch/rms_correction"].shape == (1, 2)
        assert f["metrics/epoch/test_error"].shape == (1,)


@pytest.mark.parametrize("content, message", [
    (with_change("training.epochs", -1), "training.epochs: Input should be greater than or equal to 1"),
    (with_change("training.epochs", "3"), "training.epochs: Input should be a valid integer"),
    (with_change("training.epochs", 2.5), "training.epochs: Input should be a valid integer"),
    (with_change("dynamics.epsilon", 1.5), "dynamics.epsilon: Input should be less than or equal to 1"),
    (with_change("dynamics.betta", 1.0), "dynamics.betta: unknown key (allowed here: epsilon, beta,"),
    (with_change("topology.sizes", [784, 0, 10]), "topology.sizes: layer 1 has 0 neurons"),
    (with_change("topology.sizes", [700, 12, 10]), "topology.sizes[0]: input layer has 700 neurons but the data has 784"),
    (with_change("topology", DELETE), "topology.kind: Input should be 'layered', 'layer_skipping' (a Hopfield network) or 'complete_directed'"),
    (with_change("topology.p", 0.1), "topology: 'p' and 'n' apply only to kind 'layer_skipping'"),
    (with_change("training.learning_rate", [0.1, -0.2]), "training.learning_rate: rate [1] must be > 0"),
    (with_change("training.learning_rate", [0.1, 0.1, 0.1]), "training.learning_rate: 3 per-layer rates given for 2"),
    ({**GOOD, "datapath": "bp", "topology": {"kind": "layer_skipping", "sizes": [784, 12, 10], "n": 3}},
     "datapath: backprop needs a feed-forward network, but connections inside a layer (1-1) form cycles"),
    (with_change("data.source", "idx"), "data: source 'idx' needs 'path'"),
    (with_change("data.train_size", 9990), "data: train_size + test_size = 10030 exceeds"),
    ("topology: {sizes: [1, 2]\n", "line 2, column 1: invalid YAML"),
    ("seed: 1\nseed: 2\ntopology: {sizes: [784, 10]}\n", "duplicate key 'seed'"),
    ("- just\n- a list\n", "must be a YAML mapping"),
])
def test_bad_scenario_gets_a_clear_error_and_no_output(content, message, tmp_path, monkeypatch, capsys):
    path = write(tmp_path, content)
    out = tmp_path / "run.h5"
    for command in (["validate", path], ["run", path, "--out", out, "--quiet"]):
        code, _, err = run_cli(monkeypatch, capsys, *command)
        assert code == 1
        assert f"error: {path}: " in err and message in err, err
    assert list(tmp_path.iterdir()) == [path], "nothing written"


def test_missing_file_and_missing_idx_directory(tmp_path, monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, "validate", tmp_path / "nope.yaml")
    assert code == 1 and "nope.yaml: no such file" in err
    path = write(tmp_path, with_change("data", {"source": "idx", "path": "mnist"}))
    code, _, err = run_cli(monkeypatch, capsys, "run", path, "--quiet")
    assert code == 1 and "mnist: data.path: no such directory" in err


def test_override_on_the_command_line_is_validated(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, GOOD)
    code, _, err = run_cli(monkeypatch, capsys, "validate", path, "--set", "dynamics.beta=-1")
    assert code == 1 and "dynamics.beta: Input should be greater than 0" in err
    code, stdout, _ = run_cli(monkeypatch, capsys, "validate", path, "--set", "training.epochs=7")
    assert code == 0 and "7 epoch(s)" in stdout


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_diverging_run_reports_the_step_and_leaves_no_file(tmp_path, monkeypatch, capsys):
    path = write(tmp_path, with_change("training.learning_rate", 1e300))
    out = tmp_path / "run.h5"
    code, _, err = run_cli(monkeypatch, capsys, "run", path, "--out", out, "--quiet")
    assert code == 1 and "diverged at epoch 1, batch 1 (counted from 1), update phase" in err and "learning rate" in err
    assert list(tmp_path.iterdir()) == [path]


def test_shipped_scenarios_are_valid(monkeypatch, capsys):
    for path in sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml")):
        code, stdout, err = run_cli(monkeypatch, capsys, "validate", path)
        assert code == 0, err
