"""How people and tools reach the cluster's API (pure: no provider import)."""

from __future__ import annotations


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str, role_arn: str | None = None) -> dict:
    """A kubeconfig that authenticates with `aws eks get-token` (no long-lived credentials), as `role_arn` when given
    (the AWS CLI assumes it with the caller's credentials: `aws eks get-token --role-arn`)."""
    role = ["--role-arn", role_arn] if role_arn else []
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [
            {
                "name": cluster_name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, *role],
                    }
                },
            }
        ],
    }
