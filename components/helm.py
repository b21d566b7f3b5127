"""A Helm release of a chart pinned in catalog/versions.py (`helm_chart(key)`), named after its key: one way for
every component that installs a chart (classic repositories and OCI registries alike)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.catalog.versions import helm_chart


def chart_release(prefix: str, key: str, namespace: str, values: dict[str, Any], *,
                  opts: pulumi.ResourceOptions, create_namespace: bool = False,
                  skip_crds: bool = False) -> k8s.helm.v3.Release:
    """Logical name `<prefix>-<key>`, release name `<key>`. An OCI registry takes the full URL as the chart
    reference and no repository options; `skip_crds`: the chart's crds/ come from elsewhere (a CRD chart)."""
    repo, chart, version = helm_chart(key)
    oci = repo.startswith("oci://")
    return k8s.helm.v3.Release(
        f"{prefix}-{key}",
        name=key,
        chart=f"{repo}/{chart}" if oci else chart,
        version=version,
        repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=repo),
        namespace=namespace,
        create_namespace=create_namespace,
        skip_crds=skip_crds or None,
        values=values,
        opts=opts,
    )
