"""What the Pulumi engine does with a resource before any AWS call: which provider it goes through.

A custom resource registered without a provider reference goes to the engine's *default* provider of its package
(pulumi/pulumi `pkg/resource/deploy/providers/registry.go`: the default provider's name is `default` or
`default_<version>`). The default providers are configured only from the stack's `<package>:` keys: the default
aws-native provider fails without `aws-native:region` (pulumi-aws-native #1646), and neither the aws-native nor the
kubernetes default provider carries the platform's tags or points at the stack's cluster. So every resource of these
packages must go through the stack's explicit provider.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from policies.rules.base import Rule

#: Packages the platform reaches only through explicit providers (created in `stacks/platform.py`).
EXPLICIT_PACKAGES = ("aws", "aws-native", "kubernetes")


def is_default_provider(name: str | None) -> bool:
    """The engine names its default providers `default` or `default_<version>` (`registry.go`)."""
    return name is not None and (name == "default" or name.startswith("default_"))


def _explicit_provider(args: ResourceValidationArgs, report: ReportViolation) -> None:
    package = args.resource_type.split(":", 1)[0]
    if package not in EXPLICIT_PACKAGES:
        return
    provider = args.provider
    if provider is not None and is_default_provider(provider.name):
        report(f"{args.resource_type} goes through the engine's default {package} provider "
               f"({provider.urn}): it is configured only from the stack's {package}: keys "
               f"({'region and tags missing' if package == 'aws-native' else 'no platform tags, no cluster'}); "
               "pass the stack's explicit provider (Env.providers) to the component that creates it")


EXPLICIT_PROVIDER = Rule(
    "explicit-providers",
    "Every aws, aws-native and kubernetes resource goes through the stack's explicit provider, never the engine's "
    "default one (which needs `aws-native:region`, sets no default tags and knows no cluster).",
    severity=Severity.HIGH,
    remediation="Create the resource with `env.component_options(...)` (the stack's providers), as every component "
                "in components/ does; a new aws-native capability also needs its provider in stacks/platform.py.",
    url="https://www.pulumi.com/docs/iac/concepts/resources/providers/#default-provider-configuration",
).resource(_explicit_provider)

ENGINE_POLICIES = [EXPLICIT_PROVIDER]
