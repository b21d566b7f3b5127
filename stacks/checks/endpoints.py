"""Cross-field checks of the SageMaker endpoints: pinned specs, instance types, Marketplace packages, EULAs, and
models sharing an endpoint (they must fit its instance)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stacks.checks.base import Problems, one_of

if TYPE_CHECKING:
    from stacks.model import PlatformConfig


def endpoint_checks(cfg: PlatformConfig, offline: bool) -> Problems:
    from components.catalog.jumpstart import HOW_TO_PIN, PINNED

    problems: Problems = []
    for i, ep in enumerate(cfg.endpoints):
        loc = ("endpoints", i)
        spec = PINNED.get(ep.model_id)
        if spec is None or (ep.model_version not in (None, spec.version)):
            if offline:
                what = (f"unknown JumpStart model id; pinned ids: {', '.join(sorted(PINNED))}" if spec is None else
                        f"version {ep.model_version} is not pinned (pinned: {spec.version}); offline plans use "
                        "pinned specs")
                problems.append(((*loc, "modelId" if spec is None else "modelVersion"),
                                 f"{what}; found {ep.model_id if spec is None else ep.model_version!r}. {HOW_TO_PIN}"))
            continue
        if (why := spec.instance_problem(ep.instance_type)) is not None:
            problems.append(((*loc, "instanceType"), why))
        if spec.marketplace and not ep.model_package_arn:
            problems.append(((*loc, "modelPackageArn"), f"{ep.model_id} is an AWS Marketplace model: subscribe to "
                                                        "its listing, then set the model package ARN of "
                                                        f"{cfg.region}; found none"))
        if ep.model_package_arn and f":sagemaker:{cfg.region}:" not in ep.model_package_arn:
            problems.append(((*loc, "modelPackageArn"), f"expected a model package ARN in {cfg.region} (they are "
                                                        f"per region); found {ep.model_package_arn!r}"))
        if not spec.marketplace and ep.model_package_arn:
            problems.append(((*loc, "modelPackageArn"), f"{ep.model_id} is not a Marketplace model; remove it"))
        if (why := spec.eula_problem(ep.accept_eula)) is not None:
            problems.append(((*loc, "acceptEula"), why))
    return problems + _shared_endpoint_checks(cfg)


def _shared_endpoint_checks(cfg: PlatformConfig) -> Problems:
    """Every member names a shared endpoint that exists, every shared endpoint hosts models, and they fit it."""
    from components.catalog.jumpstart import PINNED
    from components.catalog.sagemaker_instances import SAGEMAKER_INSTANCES
    from components.jumpstart_endpoint.sharing import copy_of, fit_problems

    problems: Problems = []
    hosts = {h.name: (i, h) for i, h in enumerate(cfg.shared_endpoints)}
    members: dict[str, list] = {name: [] for name in hosts}
    for i, ep in enumerate(cfg.endpoints):
        if ep.shared_endpoint is None:
            continue
        if ep.shared_endpoint not in hosts:
            problems += one_of(("endpoints", i, "sharedEndpoint"), "sharedEndpoints", hosts, ep.shared_endpoint)
        elif ep.model_id in PINNED:
            members[ep.shared_endpoint].append((i, ep))
    for name, (h, host) in hosts.items():
        loc = ("sharedEndpoints", h)
        instance = SAGEMAKER_INSTANCES.get(host.instance_type)
        if instance is None:
            problems.append(((*loc, "instanceType"), f"expected one of {', '.join(SAGEMAKER_INSTANCES)}; found "
                                                     f"{host.instance_type!r}"))
            continue
        if not members[name]:
            problems.append((loc, f"expected endpoints[] whose sharedEndpoint is {name}; found none"))
            continue
        for i, ep in members[name]:
            listed = PINNED[ep.model_id].supported_instance_types
            if host.instance_type not in listed and not ep.allow_unlisted_instance_type:
                problems.append((("endpoints", i, "sharedEndpoint"),
                                 f"{ep.name} on {name}: {ep.model_id}'s spec lists {', '.join(listed)}, not "
                                 f"{host.instance_type}; choose a shared instance type it lists, or set "
                                 "allowUnlistedInstanceType: true to run it there anyway"))
        index = {ep.name: i for i, ep in members[name]}
        copies = [copy_of(ep.name, PINNED[ep.model_id], instance, ep.accelerators_per_copy) for _, ep in members[name]]
        problems += [(("endpoints", index[endpoint], "sharedEndpoint"), f"{endpoint} on {name}: {why}")
                     for endpoint, why in fit_problems(instance, copies)]
    return problems
