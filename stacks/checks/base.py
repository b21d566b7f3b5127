"""What every cross-key check returns, and the checks several of them share (one place each)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: (key path, message) pairs: `config.py` turns each into one line naming the key, what was expected and found.
Problems = list[tuple[tuple[Any, ...], str]]


def one_of(loc: tuple[Any, ...], what: str, names: Iterable[str], found: str) -> Problems:
    """A reference to something the stack defines: `found` must be among `names` (`what` says where they are)."""
    names = list(names)
    if found in names:
        return []
    return [(loc, f"expected one of {what} ({', '.join(names) or 'none defined'}); found {found!r}")]


def in_network(azs: list[str], loc: tuple[Any, ...], az: str) -> Problems:
    """Something pinned to one AZ (a node group, a file system) sits in one the network has subnets in."""
    return one_of(loc, "the network's AZs", azs, az)
