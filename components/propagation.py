"""Waiting for IAM to propagate before a service checks a role or a resource policy at create time.

IAM is eventually consistent (IAM user guide, "Troubleshoot IAM": changes can take time to be visible
everywhere). Some create calls validate that a role may already do what it must: Bedrock's
PutModelInvocationLoggingConfiguration answers "ValidationException: Failed to validate permissions for log group
... with role ..." when it runs right after the role's policy was attached. A `Propagation` resource sleeps once,
on create, and again whenever what it follows changes: it follows the policy documents and ARNs themselves (an edit
of a role's policy changes the document, never the role's URN or id); a preview does not sleep.

Its pickled state names this module (`components.propagation`): keep the path (tests/components/
test_dynamic_providers.py imports it as existing stacks' state does).
"""

from __future__ import annotations

import time
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

#: How long a new role or policy takes to be usable by another service, in practice (seconds).
IAM_PROPAGATION_S = 15


class PropagationProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        time.sleep(float(props["seconds"]))
        return CreateResult(id_="propagated", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=olds.get("after") != news.get("after"))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        time.sleep(float(news["seconds"]))
        return UpdateResult(outs=news)


class Propagation(Resource):
    """Created `seconds` after what `after` holds (policy documents, role ARNs: values that change when the
    permissions do) is in place, and again whenever one of them changes; depend on it."""

    def __init__(self, name: str, *, after: list[pulumi.Input[str]], seconds: int = IAM_PROPAGATION_S,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(PropagationProvider(), name, {"after": after, "seconds": seconds}, opts)
