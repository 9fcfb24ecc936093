"""Documentation generated from code stays in step with it."""

from pathlib import Path

from neurosim.schema_docs import scenario_reference


def test_scenario_reference_is_current():
    committed = (Path(__file__).parent.parent / "docs" / "scenario.md").read_text()
    assert committed == scenario_reference(), "run: python -m neurosim.schema_docs > docs/scenario.md"
