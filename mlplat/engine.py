"""Runs the real Pulumi program under the mock monitor and records every registration.

The recording monitor sees the whole `RegisterResourceRequest` (parent, dependencies, provider,
protect, retainOnDelete, the serialized inputs), so the plan shows what the engine would receive,
not only what `Mocks.new_resource` is given. Values are decoded from the wire form directly so that
secrets, unknowns, assets and resource references each get their documented rendering.

The Pulumi runtime is process-global: plan one stack per process.
"""

from __future__ import annotations

import logging
import os
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import json_format, struct_pb2

from mlplat.project import StackConfig

SECRET = "[secret]"
UNKNOWN = "[unknown]"
_UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_SIG = "4dabf18193072939515e22adb298388d"
_SIG_ASSET = "c44067f5952c0a294b673a41bacd8c17"
_SIG_ARCHIVE = "0def7320c3a5731c473e5ecbe6d01bc7"
_SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270"
_SIG_RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e"
_SIG_OUTPUT = "d0e6a833031e9bbcd3f4e8bde6ca49a4"


class PlanRenderer:
    """Decodes wire values (the engine's, or a stack export's) into the plan's JSON form; file paths are made
    relative to `root` when given."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root

    def _path(self, p: str) -> str:
        if self.root is None:
            return p
        try:
            return str(Path(p).resolve().relative_to(self.root))
        except ValueError:
            return p

    def value(self, v: Any) -> Any:
        if isinstance(v, str):
            return UNKNOWN if v == _UNKNOWN_SENTINEL else v
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            sig = v.get(_SIG)
            if sig == _SIG_SECRET:
                return SECRET
            if sig == _SIG_RESOURCE:
                return v.get("urn", UNKNOWN)
            if sig == _SIG_OUTPUT:
                if v.get("secret"):
                    return SECRET
                return self.value(v["value"]) if "value" in v else UNKNOWN
            if sig == _SIG_ASSET:
                if "path" in v:
                    return {"fileAsset": self._path(v["path"])}
                if "text" in v:
                    return {"stringAsset": v["text"]}
                return {"remoteAsset": v.get("uri")}
            if sig == _SIG_ARCHIVE:
                if "assets" in v:
                    return {"assetArchive": {k: self.value(a) for k, a in v["assets"].items()}}
                if "path" in v:
                    return {"fileArchive": self._path(v["path"])}
                return {"remoteArchive": v.get("uri")}
            return {k: self.value(x) for k, x in v.items()}
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return v

    def struct(self, s: struct_pb2.Struct) -> dict[str, Any]:
        data = self.value(json_format.MessageToDict(s))
        if "__provider" in data:
            # A dynamic provider's pickled code: opaque and large, not configuration.
            data["__provider"] = "[dynamic provider]"
        return data


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    id: str | None
    custom: bool
    parent: str | None
    dependencies: list[str]
    provider: str | None
    protect: bool
    retain_on_delete: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    #: Input property -> the URNs its value came from (what the engine passes to `AnalyzeStack`).
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    #: Earlier identities this resource answers to (`ResourceOptions.aliases`): alias specs or URNs.
    aliases: list[dict[str, Any]] = field(default_factory=list)
    #: `ResourceOptions.replace_on_changes` (input paths, "*" for all) and `delete_before_replace`.
    replace_on_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn, "type": self.type, "name": self.name, "id": self.id, "custom": self.custom,
            "parent": self.parent, "dependencies": self.dependencies, "provider": self.provider,
            "protect": self.protect, "retainOnDelete": self.retain_on_delete, "inputs": self.inputs,
            "outputs": self.outputs, "propertyDependencies": self.property_dependencies, "aliases": self.aliases,
            "replaceOnChanges": self.replace_on_changes, "deleteBeforeReplace": self.delete_before_replace,
        }


def _make_monitor_class():
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.sync_await import _sync_await

    class RecordingMonitor(MockMonitor):
        """A mock monitor that keeps the full register requests, in order."""

        def __init__(self, mocks, renderer: PlanRenderer, on_register=None) -> None:
            super().__init__(mocks)
            self.renderer = renderer
            self.on_register = on_register
            self.registrations: dict[str, Registration] = {}
            self.stack_urn: str | None = None
            #: Function tokens invoked without a provider reference: the engine would use the default provider.
            self.default_provider_invokes: list[str] = []

        def Invoke(self, request):  # noqa: N802 (gRPC method name)
            if not request.provider and request.tok.split(":", 1)[0] in ("aws", "aws-native", "kubernetes"):
                self.default_provider_invokes.append(request.tok)
            return super().Invoke(request)

        def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
            response = super().RegisterResource(request)
            if request.type == "pulumi:pulumi:Stack":
                self.stack_urn = response.urn
                return response
            outputs = response.object  # the mock state, already serialized for the SDK
            self.registrations[response.urn] = Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                id=(response.id or None) if request.custom else None,
                custom=bool(request.custom),
                parent=request.parent or None,
                dependencies=sorted(set(request.dependencies)),
                provider=request.provider or None,
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                inputs=self.renderer.struct(request.object),
                outputs=_mask(self.renderer.struct(outputs), request.additionalSecretOutputs)
                if request.custom else {},
                property_dependencies={k: sorted(set(v.urns)) for k, v in sorted(request.propertyDependencies.items())
                                       if v.urns},
                aliases=[json_format.MessageToDict(a) for a in request.aliases],
                replace_on_changes=list(request.replaceOnChanges),
                delete_before_replace=bool(request.deleteBeforeReplace),
            )
            if self.on_register is not None:
                self.on_register(len(self.registrations), request.type)
            return response

        def ReadResource(self, request):  # noqa: N802
            """`Resource.get` / StackReference: an existing resource read, recorded like a registration."""
            response = super().ReadResource(request)
            state = self.resources[response.urn].state
            outputs = _sync_await(rpc.serialize_properties(state, {}))
            self.registrations[response.urn] = Registration(
                urn=response.urn, type=request.type, name=request.name, id=request.id or None, custom=True,
                parent=request.parent or None, dependencies=sorted(set(request.dependencies)),
                provider=request.provider or None, protect=False, retain_on_delete=False,
                inputs=self.renderer.struct(request.properties), outputs=self.renderer.struct(outputs),
            )
            return response

        def RegisterResourceOutputs(self, request):  # noqa: N802
            reg = self.registrations.get(request.urn)
            if reg is not None:
                reg.outputs = self.renderer.struct(request.outputs)
            return super().RegisterResourceOutputs(request)

    return RecordingMonitor


def _mask(outputs: dict[str, Any], secret_names: Any) -> dict[str, Any]:
    """Outputs the provider marks secret (`additionalSecretOutputs`, e.g. an API key's value)."""
    for name in secret_names or ():
        if name in outputs:
            outputs[name] = SECRET
    return outputs


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.records.append((record.levelname.lower(), record.getMessage()))


@dataclass
class RunResult:
    registrations: list[Registration]
    outputs: dict[str, Any]
    diagnostics: list[tuple[str, str]]
    #: Look-ups (invokes) the engine would send to a default provider (tokens, in call order).
    default_provider_invokes: list[str] = field(default_factory=list)


def run_program(root: Path, project: str, cfg: StackConfig, *, program: Any = None,
                mock_options: dict[str, Any] | None = None, on_register: Any = None,
                first_preview: bool = False) -> RunResult:
    """Run `program` (default: the project's `__main__.py`) under the recording monitor.

    `first_preview`: answer as the first preview of a new stack (`FirstPreviewMocks`): every id, ARN and
    other provider-computed output is unknown, and so is every value built from one.

    Exceptions from the program (including `stacks.errors.ConfigError`) propagate unchanged.
    """
    import pulumi
    from pulumi.runtime import config as runtime_config
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from mlplat.mocks import FirstPreviewMocks, PlatformMocks
    from stacks.context import RunContext, running

    settings.ROOT.set(None)
    runtime_config.set_all_config(dict(cfg.values), list(cfg.secret_keys))
    renderer = PlanRenderer(root)
    mocks = (FirstPreviewMocks if first_preview else PlatformMocks)(cfg.region, **(mock_options or {}))
    monitor = _make_monitor_class()(mocks, renderer, on_register)
    logger = logging.getLogger(f"mlplat.plan.{cfg.stack}")
    logger.propagate = False
    collector = _Collect()
    logger.handlers = [collector]
    pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=cfg.stack, preview=True, logger=logger,
                             monitor=monitor)

    def main() -> None:
        if program is not None:
            program()
            return
        cwd = os.getcwd()
        os.chdir(root)
        try:
            runpy.run_path(str(root / "__main__.py"), run_name="__main__")
        finally:
            os.chdir(cwd)

    # Tells the program it runs offline (no AWS calls) and which stack file it plans, for this run only.
    with running(RunContext(offline=True, stack_file=cfg.source)):
        _sync_await(run_pulumi_func(main))
    stack_resource = settings.get_root_resource()
    outputs: dict[str, Any] = {}
    for key, value in sorted(getattr(stack_resource, "outputs", {}).items()):
        out = pulumi.Output.from_input(value)
        secret = _sync_await(out.is_secret())
        known = _sync_await(out.is_known())
        resolved = _sync_await(out.future()) if known else None
        outputs[key] = SECRET if secret else (UNKNOWN if not known else _plain(resolved, renderer))
    return RunResult(list(monitor.registrations.values()), outputs, collector.records,
                     monitor.default_provider_invokes)


def _plain(value: Any, renderer: PlanRenderer) -> Any:
    import pulumi

    if isinstance(value, pulumi.Resource):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _plain(v, renderer) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, renderer) for v in value]
    return renderer.value(value)
