"""The repository stands alone: a user's clone has nothing beside it."""

from __future__ import annotations

import re
import subprocess

from tests.helpers import ROOT

#: A path out of the repository (`../x`), the workspace it was built in, or the design folder it came from.
#: (Spelled in pieces so that this file does not match itself.)
WORKSPACE = "/" + "work" + "/"
OUTSIDE = re.compile(r"(?<![\w.])\.\./(?!\.\.)[\w.-]+|" + WORKSPACE
                     + r"|(?<![\w-])shared/(DESIGN|STYLE|REFERENCE|plan\.schema)")


def _tracked() -> list[str]:
    return subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()


def test_no_tracked_file_points_outside_the_repository():
    offenders = []
    for name in _tracked():
        path = ROOT / name
        if not path.is_file() or path.suffix in (".png", ".jpg", ".pdf", ".gz"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            match = OUTSIDE.search(line)
            if match and not _inside(path, match.group(0)):
                offenders.append(f"{name}:{number}: {match.group(0)}")
    assert offenders == []


def _inside(path, reference: str) -> bool:
    """A relative `../x` link that resolves inside the repository (docs/ linking to the README) is fine."""
    if not reference.startswith("../"):
        return False
    return (path.parent / reference).resolve().is_relative_to(ROOT)


def test_markdown_links_resolve_to_files_in_the_repository():
    broken = []
    for name in _tracked():
        if not name.endswith(".md"):
            continue
        path = ROOT / name
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+://", target):
                continue
            resolved = (path.parent / target).resolve()
            if not (resolved.is_relative_to(ROOT) and resolved.exists()):
                broken.append(f"{name}: {target}")
    assert broken == []


def test_the_plan_schema_ships_inside_the_package():
    from mlplat.schema import plan_schema

    assert plan_schema()["title"] == "ml-platform offline plan"
    assert "mlplat/plan.schema.json" in _tracked()
