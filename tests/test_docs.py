"""Documentation generated from code stays in step with it."""

from pathlib import Path

from neurosim.config.schema_docs import devices_reference, scenario_reference


def test_scenario_reference_is_current():
    committed = (Path(__file__).parent.parent / "docs" / "scenario.md").read_text()
    assert committed == scenario_reference(), "run: python -m neurosim.config.schema_docs > docs/scenario.md"


def test_devices_reference_is_current():
    committed = (Path(__file__).parent.parent / "docs" / "devices-reference.md").read_text()
    assert committed == devices_reference(), "run: python -m neurosim.config.schema_docs devices > docs/devices-reference.md"
