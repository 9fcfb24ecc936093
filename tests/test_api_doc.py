"""docs/api.md's code blocks run, in order, in one namespace: the documented API cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "api.md"


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_document_has_examples():
    assert len(code_blocks(DOC.read_text())) >= 5


@pytest.mark.slow
def test_api_document_runs(monkeypatch):
    monkeypatch.chdir(ROOT)  # the examples use paths relative to the repository root
    namespace: dict = {}
    for number, block in enumerate(code_blocks(DOC.read_text()), 1):
        try:
            exec(compile(block, f"{DOC.name} block {number}", "exec"), namespace)
        except Exception as exc:  # name the failing block
            raise AssertionError(f"docs/api.md code block {number} failed: {exc!r}\n{block}") from exc


def test_reading_a_run_file_imports_nothing_of_training(tmp_path):
    import subprocess
    import sys

    code = ("import sys, neurosim; neurosim.open_run\n"
            "bad = [m for m in sys.modules if m.startswith(('neurosim.training', 'neurosim.learning', "
            "'neurosim.observe', 'neurosim.models', 'neurosim.devices'))]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
