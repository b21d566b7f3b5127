"""Evaluates the CrossGuard pack on a recorded plan exactly as `pulumi preview --policy-pack` does.

The requests are the ones the CLI sends (`policies/protocol.py`) and the servicer answering them is
`pulumi_policy`'s own, the one `policies/__main__.py` serves over gRPC, run here in-process: rules
see the same deserialized values (numbers as floats, unknown sentinels behind unknown-checking
proxies), and a rule that reads an unknown value is skipped with the engine's advisory. Enforcement
levels and per-policy config come from the environment's pack config (the file passed to
`--policy-pack-config`), reconciled as the CLI reconciles it.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any

from google.protobuf import json_format

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

    from policies.pack import ALL_POLICIES, ENFORCEMENT_LEVEL, PACK_NAME, PACK_VERSION

    servicer = _PolicyAnalyzerServicer(PACK_NAME, PACK_VERSION, ALL_POLICIES, ENFORCEMENT_LEVEL)
    return lambda method, request: getattr(servicer, method)(request, None)


@contextmanager
def _decoded_once():
    """Within one evaluation, decode and wrap each request's `Struct` once, not once per policy.

    `pulumi_policy`'s servicer turns the same properties into Python values for every policy it runs on a
    resource (`deserialize_properties(json_format.MessageToDict(...))`) and wraps them in a fresh unknown-checking
    proxy tree (`unknown_checking_proxy`, which copies every nested dict and list: about 60% of a check's time).
    All three steps are pure, and rules only read what they are given: the proxies' one write path
    (`_DictProxy.__setitem__`) raises here, so a rule that wrote into a shared tree would fail loudly instead of
    being seen by the next policy. Remembering them per message therefore changes nothing the rules see; the
    served pack does the same work uncached.
    """
    from pulumi_policy import policy as served
    from pulumi_policy import proxy

    to_dict, deserialize = served.json_format.MessageToDict, served.deserialize_properties
    decoded: dict[int, tuple[Any, Any]] = {}

    class _JsonFormat:
        def __getattr__(self, name: str) -> Any:
            return getattr(json_format, name)

        @staticmethod
        def MessageToDict(message, *args, **kwargs):  # noqa: N802 (the protobuf function's name)
            if args or kwargs:
                return to_dict(message, *args, **kwargs)
            key = id(message)
            if key not in decoded:
                decoded[key] = (message, to_dict(message))
            return decoded[key][1]

    deserialized: dict[int, Any] = {}

    def deserialize_once(props: dict[str, Any], *args: Any) -> Any:
        if args:
            return deserialize(props, *args)
        if id(props) not in deserialized:
            deserialized[id(props)] = deserialize(props)
        return deserialized[id(props)]

    wrap = served.unknown_checking_proxy
    wrapped: dict[int, Any] = {}

    def wrap_once(props: Any) -> Any:
        # `props` is a value `deserialize_once` keeps alive for the whole evaluation, so its id is never reused.
        if id(props) not in wrapped:
            wrapped[id(props)] = wrap(props)
        return wrapped[id(props)]

    def refuse_write(self: Any, key: Any, value: Any) -> None:
        raise TypeError(f"a policy rule wrote {key!r} into the resource it was given; rules only read resources")

    write = proxy._DictProxy.__setitem__
    served.json_format, served.deserialize_properties, served.unknown_checking_proxy = (
        _JsonFormat(), deserialize_once, wrap_once)
    proxy._DictProxy.__setitem__ = refuse_write
    try:
        yield
    finally:
        served.json_format, served.deserialize_properties, served.unknown_checking_proxy = (
            json_format, deserialize, wrap)
        proxy._DictProxy.__setitem__ = write


def judge_plan(resources: list[dict[str, Any]], pack_config: dict[str, Any] | None = None) -> Verdict:
    """Violations and skipped policies for a plan's resources. Raises `PackConfigError` for a bad config."""
    with _decoded_once():
        return judge(in_process(), resources, pack_config or {})


def evaluate(resources: list[dict[str, Any]], pack_config: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Violations, as plan `policy.violations` entries."""
    return judge_plan(resources, pack_config).violations
