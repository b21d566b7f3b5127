"""The docs a new user reads: a short README that points to docs/, links that resolve, set-up that needs only
Python."""

from __future__ import annotations

import re

from tests.helpers import ROOT

PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_relative_link_resolves():
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if not target.startswith(("http://", "https://", "mailto:")) and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert broken == []


def test_the_readme_is_short_and_every_docs_page_is_reachable_from_it():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 250
    linked = set(re.findall(r"\]\(docs/([^)#]+)", readme))
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    # Reachable in one step from the README, or from a page it links to.
    reachable = set(linked)
    for name in linked:
        reachable |= set(re.findall(r"\]\(([\w-]+\.md)", (ROOT / "docs" / name).read_text()))
    assert pages - reachable == set()


def test_the_set_up_commands_need_only_python():
    """`make plan` and `make test` install from PyPI only: no npm, no Node (the README says so)."""
    makefile = (ROOT / "Makefile").read_text()
    assert "npm" not in makefile and "node " not in makefile


def test_the_changelog_names_the_version_the_project_has_and_its_releases_are_dated():
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert releases and releases[0][0] == version
    assert [r[1] for r in releases] == sorted((r[1] for r in releases), reverse=True)
