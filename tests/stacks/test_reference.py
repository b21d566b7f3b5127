"""docs/configuration.md is generated from the models: it must match them."""

from stacks.reference import markdown
from tests.helpers import ROOT


def test_configuration_reference_is_up_to_date():
    on_disk = (ROOT / "docs" / "configuration.md").read_text()
    assert on_disk == markdown(), "run `.venv/bin/mlplat config-reference --write docs/configuration.md`"


def test_every_field_has_a_description():
    undocumented = [line for line in markdown().splitlines() if line.startswith("| `") and line.endswith("|  |")]
    assert undocumented == []
