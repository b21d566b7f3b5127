"""docs/configuration.md is generated from the models: it must match them."""

from stacks.reference import markdown
from tests.helpers import ROOT


def test_configuration_reference_is_up_to_date():
    on_disk = (ROOT / "docs" / "configuration.md").read_text()
    assert on_disk == markdown(), "run `.venv/bin/mlplat config-reference --write docs/configuration.md`"


def test_every_field_has_a_description():
    undocumented = [line for line in markdown().splitlines() if line.startswith("| `") and line.endswith("|  |")]
    assert undocumented == []


def test_component_reference_is_up_to_date_and_covers_every_component():
    from stacks.components_reference import components
    from stacks.components_reference import markdown as component_markdown

    on_disk = (ROOT / "docs" / "components.md").read_text()
    assert on_disk == component_markdown(), "run `make generate` (python -m stacks.components_reference)"
    found = {c.name: c for c in components()}
    assert {"GpuCluster", "JumpStartEndpoint", "RagService", "LiveChat", "Network"} <= set(found)
    assert all(c.token.startswith("mlplat:") for c in found.values())
    assert found["JumpStartEndpoint"].outputs["endpointName"] == "pulumi.Output[str]"
    assert "| `instanceType` |" in on_disk  # the args model's fields are the inputs
