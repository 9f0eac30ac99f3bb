"""What every command shares: the consoles, the admin API options and client, errors, durations."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.console import Console

from arrowhook_tools.cli.render import shown

console = Console(stderr=True)
out = Console()


class _Selected:
    #: Set by the global `--profile` option (or ARROWHOOK_PROFILE): which saved login commands use.
    profile: str | None = None


selected = _Selected()


ApiUrl = Annotated[str | None, typer.Option("--api-url", envvar="ARROWHOOK_API_URL", help="Admin API base URL.")]
Token = Annotated[
    str | None, typer.Option("--token", envvar="ARROWHOOK_ADMIN_TOKEN", help="Admin bearer token.", show_default=False)
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
Since = Annotated[str | None, typer.Option(help="From: ISO 8601 or a duration back from now (24h, 7d).")]
Until = Annotated[str | None, typer.Option(help="To: ISO 8601 or a duration back from now.")]
KeyId = Annotated[str, typer.Argument(help="Key id or strategy name (see `arrowhook strategies list`).")]


@contextlib.contextmanager
def api_errors() -> Iterator[None]:
    """Any admin API failure becomes one message on stderr and exit code 1."""
    from arrowhook_tools.cli.admin_client import AdminApiError

    try:
        yield
    except AdminApiError as error:
        console.print(f"[red]error:[/] {shown(error.detail)}")
        raise typer.Exit(1) from None


def api_client(api_url: str | None, token: str | None) -> Any:
    from arrowhook_tools.cli.admin_client import AdminClient, resolve_target

    with api_errors():
        target = resolve_target(api_url, token, profile=selected.profile)
    console.print(f"[dim]admin API {target.api_url} ({target.source})[/]")
    return AdminClient(target)


def call(client: Any, method: str, path: str, **kwargs: Any) -> Any:
    with api_errors():
        return client.request(method, path, **kwargs)


def duration_seconds(text: str) -> int:
    """The API's duration grammar (arrowhook.core.durations), so `--grace 2w` means what `since=2w` does."""
    from arrowhook.core.durations import HELP, parse_duration

    try:
        return int(parse_duration(text).total_seconds())
    except ValueError:
        console.print(f"[red]invalid duration {shown(repr(text))}[/]: use {HELP}")
        raise typer.Exit(2) from None
