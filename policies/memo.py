"""Each request's properties decoded and wrapped once, not once per policy: in the served pack and offline.

`pulumi_policy`'s servicer (`pulumi_policy/policy.py` `_PolicyAnalyzerServicer.Analyze` and `AnalyzeStack`, 1.x)
runs, for every policy, `deserialize_properties(json_format.MessageToDict(properties))` and then
`unknown_checking_proxy(...)`, which copies every nested dict and list into a proxy tree: one decoding and one tree
of the same message per policy (29 of them), most of the time a plan takes to judge. Remembered, the pack judges
prod in 0.32 s instead of 0.92 s (`bench/policy_speed.py`).

All three steps are pure, and rules only read what they are given. `install()` makes each `Analyze` and
`AnalyzeStack` call remember them for the duration of that call (per thread: the served pack answers from a
thread pool). While a call remembers, the proxies' one write path (`_DictProxy.__setitem__`) raises, so a rule that
wrote into a tree the next policy reads would fail loudly instead of being seen. `disabled()` runs the servicer as
`pulumi_policy` ships it; a test judges plans both ways and compares every answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_state = threading.local()
_installed = False
_lock = threading.Lock()


def _memo() -> dict[str, dict[int, Any]] | None:
    return getattr(_state, "memo", None)


@contextmanager
def disabled() -> Iterator[None]:
    """Within this block (this thread), requests are answered without remembering anything."""
    before = getattr(_state, "off", False)
    _state.off = True
    try:
        yield
    finally:
        _state.off = before


def _remembered(kind: str, key: Any, compute: Any) -> Any:
    """`compute()` once per `id(key)` within the current call. `key` is kept alive until the call ends, so no
    other object can take its id in the meantime."""
    memo = _memo()
    if memo is None:
        return compute()
    table = memo.setdefault(kind, {})
    found = table.get(id(key))
    if found is None:
        found = table[id(key)] = (key, compute())
    return found[1]


def install() -> None:
    """Patch `pulumi_policy` once per process (idempotent, thread-safe)."""
    global _installed
    with _lock:
        if _installed:
            return
        from google.protobuf import json_format
        from pulumi_policy import policy, proxy

        to_dict, deserialize, wrap = (json_format.MessageToDict, policy.deserialize_properties,
                                      policy.unknown_checking_proxy)
        write = proxy._DictProxy.__setitem__

        class _JsonFormat:
            """`json_format` as `pulumi_policy.policy` sees it, with `MessageToDict` remembered per message."""

            def __getattr__(self, name: str) -> Any:
                return getattr(json_format, name)

            @staticmethod
            def MessageToDict(message: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (protobuf's name)
                if args or kwargs:
                    return to_dict(message, *args, **kwargs)
                return _remembered("dict", message, lambda: to_dict(message))

        def deserialize_once(props: Any, *args: Any) -> Any:
            if args:
                return deserialize(props, *args)
            return _remembered("value", props, lambda: deserialize(props))

        def wrap_once(props: Any) -> Any:
            return _remembered("proxy", props, lambda: wrap(props))

        def guarded_write(self: Any, key: Any, value: Any) -> None:
            if _memo() is not None:
                raise TypeError(f"a policy rule wrote {key!r} into the resource it was given; rules only read "
                                "resources (policies/memo.py shares one proxy tree among the policies)")
            write(self, key, value)

        def per_call(method: Any) -> Any:
            def answer(self: Any, request: Any, context: Any) -> Any:
                if getattr(_state, "off", False) or _memo() is not None:
                    return method(self, request, context)
                _state.memo = {}
                try:
                    return method(self, request, context)
                finally:
                    _state.memo = None
            answer.__name__, answer.__doc__ = method.__name__, method.__doc__
            return answer

        servicer = policy._PolicyAnalyzerServicer
        servicer.Analyze = per_call(servicer.Analyze)
        servicer.AnalyzeStack = per_call(servicer.AnalyzeStack)
        policy.json_format, policy.deserialize_properties, policy.unknown_checking_proxy = (
            _JsonFormat(), deserialize_once, wrap_once)
        proxy._DictProxy.__setitem__ = guarded_write
        _installed = True
