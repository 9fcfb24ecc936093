"""Refactors change the shape of the code, not a number: short runs of every shipped
scenario kind give the recorded run files, byte for byte (see ``tests/regression.py``)."""

from __future__ import annotations

import json

import pytest

from regression import CASES, RECORDED, run_case


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_run_files_are_bit_identical_to_the_recorded_ones(name, tmp_path):
    recorded = json.loads(RECORDED.read_text())[name]
    got = json.loads(json.dumps(run_case(name, tmp_path)))
    assert got.keys() == recorded.keys()
    for file, datasets in recorded.items():
        if isinstance(datasets, str):  # a report
            assert got[file] == datasets, file
            continue
        assert sorted(got[file]) == sorted(datasets), f"{file}: datasets differ"
        changed = [name for name in datasets if got[file][name] != datasets[name]]
        assert not changed, f"{file}: these datasets changed: {changed}"
