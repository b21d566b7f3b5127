"""The mutation lane (make test-slow): every one-place change to the lease, retry, band and budget code that the
tests let through is either killed or named here with the reason no test can see it."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.helpers import ROOT

#: (function, change) that survive by nature, with why.
ACCEPTED = {
    # `get_item(ConsistentRead=True)`: moto's DynamoDB has no eventual consistency, so a stale read cannot be made
    # to happen in a test; the real table needs it (a frame queued a moment ago must be seen).
    ("deliver_pending", "True -> False"),
}


@pytest.mark.mutation
def test_the_tests_kill_every_mutant_of_the_lease_retry_band_and_budget_code(capsys):
    spec = importlib.util.spec_from_file_location("mutation_test", ROOT / "scripts" / "mutation_test.py")
    mutation = importlib.util.module_from_spec(spec)
    sys.modules["mutation_test"] = mutation  # its dataclasses look their module up there
    spec.loader.exec_module(mutation)
    total, survivors = mutation.run()
    with capsys.disabled():
        print(f"\nmutation score: {total - len(survivors)}/{total} killed")
    assert total >= 40, "the lane mutated the code it names"
    unexplained = [f"{m.path}:{m.line} in {m.function}: {m.what}" for m in survivors
                   if (m.function, m.what) not in ACCEPTED]
    assert unexplained == []
