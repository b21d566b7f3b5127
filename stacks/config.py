"""The user's contract: typed, validated stack configuration under the `ml-platform:` namespace.

Everything is validated here, once, before any resource is registered: structure and values by
pydantic, cross-references (AZs, node-group names, ...) by `stacks/checks/`. Every problem becomes
one line naming the key path, what was expected and what was found; all are reported together.
Environments differ by values (the stack files and `ENVIRONMENT_DEFAULTS`), never by branches
inside components.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from stacks import context
from stacks.checks import cross_checks
from stacks.environments import ENVIRONMENT_DEFAULTS
from stacks.errors import NAMESPACE, ConfigError, annotation_at, describe, key_path
from stacks.model import PROVIDER_KEYS, PlatformConfig, default_name_prefix, name_prefix_problem
from stacks.stack_file import PROVIDER_NAMESPACES, StackFile, StackFileError, load_yaml, read, read_text

__all__ = ["PlatformConfig", "load", "parse"]

Loc = tuple[Any, ...]


def _secret_placement_problems(raw: Mapping[str, Any], secret_keys: Collection[str],
                             source: StackFile | None) -> list[str]:
    """Secret-typed fields must come from `secure:` values, and only they: a plaintext secret would sit in
    the stack file, a `secure:` value in a plain field would be stored and shown in plain text.

    With the stack file known, each secret field is checked at its own path (a plaintext field next to a
    `secure:` sibling is caught). A secret field the file does not write at all comes from a Pulumi ESC
    environment the file imports (`environment:`, a `fn::secret` value): the engine merges it in and lists its
    top-level key as secret (pulumi `pkg/resource/deploy/source_eval.go` passes `Config.SecureKeys()`, the Python
    host sets PULUMI_CONFIG_SECRET_KEYS), so that is accepted. Without the file, the engine's secret keys are
    all there is to check.
    """
    problems = []
    secret_paths = source.secret_paths if source is not None else None

    def secret_at(loc: Loc) -> bool:
        engine_secret = f"{NAMESPACE}:{loc[0]}" in secret_keys
        if source is None:
            return engine_secret
        return loc in source.secret_paths or (engine_secret and not source.holds(loc, NAMESPACE))

    def walk(value: Any, loc: Loc) -> None:
        if annotation_at(PlatformConfig, loc) is SecretStr and value is not None:
            secret = secret_at(loc)
            if not secret:
                problems.append(f"{key_path(loc)}: expected a secret (pulumi config set --secret --path "
                                f"'{key_path(loc)}' <value>); found a plaintext value")
            return
        if secret_paths is not None and loc in secret_paths:
            problems.append(f"{key_path(loc)}: expected a plaintext value (this field is not secret: it is "
                            "stored and shown in plain text, e.g. as a tag); found a secure: value")
            return
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, (*loc, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*loc, i))

    for key, value in raw.items():
        walk(value, (key,))
    return problems


def _namespace_problems(values: Mapping[str, Any]) -> list[str]:
    """A key of another namespace is never read: refuse it rather than silently dropping a capability."""
    known = (NAMESPACE, *PROVIDER_NAMESPACES)
    problems = []
    for full_key in values:
        namespace, sep, key = full_key.partition(":")
        if not sep or namespace in known:
            continue
        close = difflib.get_close_matches(namespace, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}:{key}?" if close else ""
        problems.append(f"{full_key}: expected a key of namespace {NAMESPACE} (this project) or of a provider "
                        f"({', '.join(PROVIDER_NAMESPACES)}); found namespace {namespace!r}{hint}")
    return problems


def _stack_problems(cfg: PlatformConfig, stack: str | None) -> list[str]:
    """The stack must be the environment's: `prod`, or `prod-<suffix>` (e.g. prod-eu), for environment prod."""
    if stack is None or stack == cfg.environment or stack.startswith(f"{cfg.environment}-"):
        return []
    fits = [env for env in ENVIRONMENT_DEFAULTS if stack == env or stack.startswith(f"{env}-")]
    expected = f"{fits[0]!r} (the stack is named {stack})" if fits else \
        f"a stack named after its environment: {cfg.environment} or {cfg.environment}-<suffix>, not {stack}"
    return [f"{key_path(('environment',))}: expected {expected}; found {cfg.environment!r}"]


def parse(values: Mapping[str, Any], secret_keys: Collection[str] = (), *, stack: str | None = None,
          source: StackFile | None = None, offline: bool = False) -> PlatformConfig:
    """Validate raw Pulumi config (`{"ml-platform:network": "<json>", "aws:region": "us-east-1", ...}`).

    `stack` is the stack's name (checked against `environment`), `source` the stack file when it is
    known (secret paths, YAML 1.1 booleans), `offline` forbids what needs AWS. Raises `ConfigError`
    with every problem found.
    """
    raw: dict[str, Any] = {}
    problems = _namespace_problems(values)
    for full_key, value in values.items():
        namespace, _, key = full_key.partition(":")
        if full_key not in PROVIDER_KEYS and namespace != NAMESPACE:
            if namespace in ("aws", "aws-native"):
                problems.append(f"{full_key}: expected one of {', '.join(PROVIDER_KEYS)} (the stack's explicit "
                                "providers take only these; any other key would be silently ignored); found that key")
            continue
        if isinstance(value, str) and value[:1] in "{[":
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                problems.append(f"{full_key}: expected valid structured (JSON/YAML) config; {exc.msg}")
                continue
        raw[full_key if full_key in PROVIDER_KEYS else key] = value
    problems += _secret_placement_problems({k: v for k, v in raw.items() if k not in PROVIDER_KEYS}, secret_keys,
                                         source)
    try:
        cfg = PlatformConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(problems + describe(PlatformConfig, exc, yaml11_booleans=source.yaml11_booleans
                                              if source is not None else None)) from None
    problems += _stack_problems(cfg, stack)
    if cfg.name_prefix is None:
        derived = default_name_prefix(stack or cfg.environment)
        if (why := name_prefix_problem(derived)) is not None:
            problems.append(f"{key_path(('namePrefix',))}: the stack name {stack!r} gives the physical-name prefix "
                            f"{derived!r}, which must be {why}: set {NAMESPACE}:namePrefix; found no namePrefix")
        cfg = cfg.model_copy(update={"name_prefix": derived})
    problems += [f"{key_path(loc)}: {msg}" for loc, msg in cross_checks(cfg, offline=offline)]
    if problems:
        raise ConfigError(problems)
    return cfg


def _project_stack_file(stack: str) -> StackFile | None:
    """The running stack's file under the real engine (cwd is the project), for its `secure:` paths."""
    project_file = Path("Pulumi.yaml")
    if not project_file.is_file():
        return None
    try:
        project, _ = load_yaml(read_text(project_file), str(project_file))
        path = Path(str(project.get("stackConfigDir", "."))) / f"Pulumi.{stack}.yaml"
        return read(path, str(project.get("name", NAMESPACE))) if path.is_file() else None
    except (StackFileError, AttributeError):
        return None


def load() -> PlatformConfig:
    """Read and validate the running stack's config (real engine or mock monitor alike)."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    values: dict[str, Any] = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    secret_keys = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    run = context.current()
    stack = pulumi.get_stack()
    source = run.stack_file or _project_stack_file(stack)
    return parse(values, secret_keys, stack=stack, source=source, offline=run.offline)
