"""The documentation a clone carries: a short README, links that resolve inside the repository, and
generated pages that match their sources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from arrowhook_tools import docs
from arrowhook_tools.template import PROJECT_ROOT

PAGES = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_readme_is_a_short_front_door_with_the_two_commands_first() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    sections = re.findall(r"^## (.+)$", readme, re.MULTILINE)
    assert sections[:2] == ["The two commands", "Deploy"]
    assert "make dev" in readme and "make test" in readme
    assert "make test" in (PROJECT_ROOT / ".ci/run").read_text(), "CI runs the README's test command"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(PROJECT_ROOT)))
def test_every_link_resolves_inside_the_repository(page: Path) -> None:
    for target in LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        resolved = (page.parent / target.split("#", 1)[0]).resolve()
        assert resolved.is_relative_to(PROJECT_ROOT), f"{page.name} links outside the repository: {target}"
        assert resolved.exists(), f"{page.name} links to a missing file: {target}"


def test_every_docs_page_is_reachable_from_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    for page in (PROJECT_ROOT / "docs").glob("*.md"):
        assert f"docs/{page.name}" in readme, f"{page.name} is not linked from the README"


@pytest.mark.parametrize("name", sorted(docs.GENERATED))
def test_generated_pages_are_current(name: str) -> None:
    committed = (PROJECT_ROOT / "docs" / name).read_text()
    assert committed == docs.GENERATED[name](), f"docs/{name} is stale: run `make docs`"
