"""Evaluates the CrossGuard pack on a recorded plan exactly as `pulumi preview --policy-pack` does.

The requests are the ones the CLI sends (`policies/protocol.py`) and the servicer answering them is
`pulumi_policy`'s own, the one `policies/__main__.py` serves over gRPC, run here in-process: rules
see the same deserialized values (numbers as floats, unknown sentinels behind unknown-checking
proxies), and a rule that reads an unknown value is skipped with the engine's advisory. Enforcement
levels and per-policy config come from the environment's pack config (the file passed to
`--policy-pack-config`), reconciled as the CLI reconciles it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlruntime.files import InvalidFileError, load_json, read_text
from policies.protocol import Verdict, judge

CONFIG_DIR = Path(__file__).resolve().parent / "config"


def load_pack_config(environment: str | None) -> dict[str, Any]:
    """The pack config of an environment (`policies/config/<env>.json`), or {} when there is none.

    Raises `stacks.stack_file.InvalidFileError` for a file that is not valid JSON or repeats a key.
    """
    path = CONFIG_DIR / f"{environment}.json"
    if not (environment and path.is_file()):
        return {}
    return read_pack_config(path)


def read_pack_config(path: Path) -> dict[str, Any]:
    """A pack config file (the `--policy-pack-config` JSON): an object of policy name -> settings."""
    data = load_json(read_text(path), str(path))
    if not isinstance(data, dict):
        raise InvalidFileError([f"{path}: expected a JSON object of policy name -> settings; found "
                              f"{type(data).__name__}"])
    return data


def in_process():
    """`call(method, request)` on the pack's servicer, without a server (one per evaluation: `Configure` sets state)."""
    from pulumi_policy.policy import _PolicyAnalyzerServicer

    from policies import memo
    from policies.pack import ALL_POLICIES, ENFORCEMENT_LEVEL, PACK_NAME, PACK_VERSION

    memo.install()

    servicer = _PolicyAnalyzerServicer(PACK_NAME, PACK_VERSION, ALL_POLICIES, ENFORCEMENT_LEVEL)
    return lambda method, request: getattr(servicer, method)(request, None)


def judge_plan(resources: list[dict[str, Any]], pack_config: dict[str, Any] | None = None) -> Verdict:
    """Violations and skipped policies for a plan's resources. Raises `PackConfigError` for a bad config."""
    return judge(in_process(), resources, pack_config or {})


def evaluate(resources: list[dict[str, Any]], pack_config: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Violations, as plan `policy.violations` entries."""
    return judge_plan(resources, pack_config).violations
