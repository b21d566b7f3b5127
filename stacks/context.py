"""How the program is being run, passed explicitly by whoever runs it (never through the environment).

The real Pulumi engine runs `__main__.py` with the default context: online, the stack file found
next to the project. The offline engine (`mlplat plan`) sets `offline=True` and the stack file it
read for the duration of one run, and resets it afterwards, so nothing leaks into later runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from stacks.stack_file import StackFile


@dataclass(frozen=True)
class RunContext:
    #: No AWS calls allowed (e.g. no live JumpStart spec resolution): only pinned facts.
    offline: bool = False
    #: The stack file being planned; None: `stacks/Pulumi.<stack>.yaml` of the project, if present.
    stack_file: StackFile | None = None


_DEFAULT = RunContext()
_CURRENT: ContextVar[RunContext | None] = ContextVar("mlplat_run_context", default=None)


def current() -> RunContext:
    return _CURRENT.get() or _DEFAULT


@contextmanager
def running(context: RunContext) -> Iterator[RunContext]:
    token = _CURRENT.set(context)
    try:
        yield context
    finally:
        _CURRENT.reset(token)
