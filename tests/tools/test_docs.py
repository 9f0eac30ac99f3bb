"""The documentation a clone carries: a short README, links that resolve inside the repository, and
generated pages that match their sources."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from arrowhook_tools.generators import docs
from arrowhook_tools.local.template import PROJECT_ROOT

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


def _printed_templates() -> list[tuple[str, str]]:
    """Every TradingView message template the project prints: the README's and tradingview.md's JSON
    blocks, the console's and `keys create`'s ready-to-paste messages."""
    import contextlib
    import io

    from arrowhook.admin.tradingview_messages import indicator_message, strategy_message
    from arrowhook_tools.cli.keys import _emit

    found: list[tuple[str, str]] = []
    for page in (PROJECT_ROOT / "README.md", PROJECT_ROOT / "docs" / "tradingview.md"):
        for block in re.findall(r"```json\n(.*?)```", page.read_text(), re.DOTALL):
            if "{{ticker}}" in block:
                found.append((page.name, block))
    found += [("console: strategy", strategy_message("ahk_x")), ("console: indicator", indicator_message("ahk_x"))]
    printed = io.StringIO()
    key = {"id": "k", "name": "n", "status": "active", "secret_prefix": "ahk_x", "created_at": "2026-01-01",
           "description": "", "secret": "ahk_secret"}  # fmt: skip
    with contextlib.redirect_stdout(printed):
        _emit(key, as_json=False)
    found += [("keys create", block) for block in re.findall(r"^\{\n.*?^\}$", printed.getvalue(), re.M | re.S)]
    return found


def test_every_printed_tradingview_template_carries_timenow() -> None:
    """An alert's lag is measured from `timenow` only: a template without it gets no lag check."""
    templates = _printed_templates()
    assert len(templates) >= 6, [where for where, _ in templates]
    for where, template in templates:
        assert '"timenow": "{{timenow}}"' in template, where
