"""The Kubernetes provider when the cluster is gone: pulumi-kubernetes `deleteUnreachable` (provider.go: a
kubeconfig or discovery failure makes Read return an empty id and Delete succeed without a call) is on where
clusters come and go (dev, staging) and off in prod, where an unreachable API must fail instead of emptying the
state; a stack file can say otherwise."""

from __future__ import annotations

import pytest

from tests.helpers import CLUSTER, config, plan_config, plan_environment


@pytest.mark.parametrize(("env", "expected"), [("dev", "true"), ("staging", "true"), ("prod", "false")])
def test_delete_unreachable_per_environment(env, expected):
    (provider,) = plan_environment(env).of_type("pulumi:providers:kubernetes")
    assert provider["inputs"]["deleteUnreachable"] == expected, provider["urn"]


def test_a_stack_file_can_turn_it_on_in_prod(tmp_path):
    cfg = config(environment="prod", gpuCluster={**CLUSTER, "endpointPublicAccess": True,
                                                                 "deleteUnreachable": True})
    (provider,) = plan_config(tmp_path, cfg).of_type("pulumi:providers:kubernetes")
    assert provider["inputs"]["deleteUnreachable"] == "true", provider["urn"]
