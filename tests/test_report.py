"""neurosim report: every format parses, comparisons refuse different networks, compare: [ep, bp]."""

from __future__ import annotations

import csv
import io
import json

import h5py
import pytest

from conftest import invoke_cli, network_scenario, with_changes, write_scenario
from neurosim.analysis.report import CSV_COLUMNS, ReportError, report

BASE = network_scenario(seed=2, **{"topology.sizes": [784, 5, 10], "dynamics.t_free": 6})
"""40 training examples of one epoch, 6 + 2 integration steps each in EP."""


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """An EP and a BP run of one network from a single ``compare: [ep, bp]`` scenario."""
    out = tmp_path_factory.mktemp("compare")
    scenario = write_scenario(out, with_changes(BASE, name="cmp", compare=["ep", "bp"]), "s.yaml")
    result = invoke_cli("run", scenario, "--out", out / "cmp.h5", "--quiet")
    assert result.exit_code == 0, result.output
    return out


def test_compare_scenario_writes_both_runs_and_the_comparison(compared):
    assert (compared / "cmp-ep.h5").exists() and (compared / "cmp-bp.h5").exists()
    text = (compared / "cmp-report.md").read_text()
    assert "## Comparison: EP vs BP" in text and "Table 1" in text
    assert "| Memory per neuron | u0 (32 bits), ubeta (32 bits) | activation (32 bits), error (32 bits) |" in text


def test_json_report_loads_and_its_totals_add_up(compared):
    data = json.loads(report([compared / "cmp-ep.h5", compared / "cmp-bp.h5"], "json"))
    ep, bp = data["runs"]
    assert (ep["datapath"], bp["datapath"]) == ("ep", "bp")
    for run in data["runs"]:
        training = [r for r in run["rows"] if r["phase"] != "inference"]
        assert run["energy_total_pJ"] == pytest.approx(sum(r["energy_pJ"] for r in training))
        assert run["energy_per_example_pJ"] == pytest.approx(run["energy_total_pJ"] / 40)
        assert sum(run["phases"].values()) == pytest.approx(run["energy_total_pJ"])
    # 8 integration steps (6 + 2) per example in EP against one forward pass in BP
    mac = {run["datapath"]: sum(r["count"] for r in run["rows"] if r["action"] == "mac_forward"
                                and r["phase"] != "inference" and r["phase"] != "update") for run in data["runs"]}
    assert mac["ep"] == 8 * mac["bp"]
    assert set(data["table1"]) == {"ep", "bp"}


def test_csv_report_has_the_documented_columns(compared):
    rows = list(csv.DictReader(io.StringIO(report([compared / "cmp-ep.h5"], "csv"))))
    assert rows and list(rows[0]) == CSV_COLUMNS
    for row in rows:
        assert float(row["energy_pJ"]) == pytest.approx(int(row["count"]) * float(row["pJ_each"]))


def test_report_refuses_runs_of_different_networks(compared, tmp_path):
    other = write_scenario(tmp_path, with_changes(BASE, **{"topology.sizes": [784, 7, 10]}), "other.yaml")
    assert invoke_cli("run", other, "--out", tmp_path / "o.h5", "--quiet").exit_code == 0
    with pytest.raises(ReportError, match="different networks.*784, 5, 10.*784, 7, 10"):
        report([compared / "cmp-ep.h5", tmp_path / "o.h5"])
    result = invoke_cli("report", str(compared / "cmp-ep.h5"), str(tmp_path / "o.h5"))
    assert isinstance(result.exception, ReportError) and "different networks" in str(result.exception)


def test_report_on_a_missing_or_ledgerless_file_names_it(tmp_path):
    with pytest.raises(ReportError, match="nope.h5: no such file"):
        report([tmp_path / "nope.h5"])
    h5py.File(tmp_path / "old.h5", "w").close()
    with pytest.raises(ReportError, match="old.h5: no /ledger"):
        report([tmp_path / "old.h5"])


def test_report_command_writes_a_file(compared, tmp_path):
    result = invoke_cli("report", str(compared / "cmp-ep.h5"), "--format", "md", "--out", str(tmp_path / "r.md"))
    assert result.exit_code == 0, result.output
    assert "Energy table used" in (tmp_path / "r.md").read_text()
