"""`arrowhook config export|import`: a stack's configuration, without a secret, into a new stack.

The file holds the strategies (name, description, enabled, declared signal expectations) and the
destinations (kind, name, strategies by name, template, settings, chat id, and where it points as the
API hints it): never a strategy secret (only its hash is stored), a destination URL or bot token (SSM
SecureStrings), or a signing secret. On import, each strategy gets a new secret, printed once (or written
0600 with --secrets-out): paste it into that strategy's TradingView alerts. Each destination's URL or bot
token is asked for (hidden) or read from --destination-secrets; webhook destinations get a new signing
secret. What the new stack has already (same name) is left as it is, so an import can be run again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from arrowhook_tools.cli.admin_client import AdminApiError
from arrowhook_tools.cli.common import ApiUrl, Token, api_client, api_errors, call, console, out
from arrowhook_tools.cli.render import shown
from arrowhook_tools.local.state import write_private

FORMAT = "arrowhook-config"
FORMAT_VERSION = 1
#: What each kind needs that the export cannot carry (a secret).
_SECRET_FIELDS = {"discord": "url", "slack": "url", "webhook": "url", "telegram": "bot_token"}
_DESTINATION_SETTINGS = ("kind", "name", "template", "enabled", "timeout_seconds", "skip_late", "chat_id")

config_app = typer.Typer(no_args_is_help=True, help="Export a stack's configuration; import it into another.")


def exported(keys: list[dict[str, Any]], destinations: list[dict[str, Any]]) -> dict[str, Any]:
    """The file's content: no secret of any kind, strategies named (ids differ from stack to stack)."""
    names = {key["id"]: key["name"] for key in keys}
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(),
        "strategies": [
            {
                "name": key["name"],
                "description": key["description"],
                "enabled": key["status"] == "active",
                "signals": key.get("signals") or {},
            }
            for key in sorted(keys, key=lambda key: key["name"].lower())
        ],
        "destinations": [
            {
                **{name: destination.get(name) for name in _DESTINATION_SETTINGS},
                "strategies": [names.get(key_id, key_id) for key_id in destination["strategies"]],
                "was": destination["target"],
            }
            for destination in sorted(destinations, key=lambda destination: destination["name"].lower())
        ],
    }


@config_app.command("export")
def config_export(
    file: Annotated[Path, typer.Option("--file", help="Where to write it (JSON; it holds no secret).")],
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Write the strategies, their signal expectations and the destinations (without secrets) to a file."""
    client = api_client(api_url, token)
    with api_errors():
        keys = client.all_keys()
        destinations = client.request("GET", "/destinations")["items"]
    content = exported(keys, destinations)
    file.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    out.print(f"exported {len(keys)} strategies and {len(destinations)} destinations to {shown(file)} (no secrets)")


def _read(file: Path) -> dict[str, Any]:
    try:
        content = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        console.print(f"[red]cannot read {shown(file)}:[/] {shown(error)}")
        raise typer.Exit(2) from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        console.print(f"[red]{shown(file)} is not an `arrowhook config export` file[/]")
        raise typer.Exit(2)
    if content.get("version") != FORMAT_VERSION:
        console.print(
            f"[red]{shown(file)} is version {shown(content.get('version'))}; this CLI reads {FORMAT_VERSION}[/]"
        )
        raise typer.Exit(2)
    return content


@config_app.command("import")
def config_import(
    file: Annotated[Path, typer.Option("--file", help="A file `arrowhook config export` wrote.")],
    destination_secrets: Annotated[
        Path | None,
        typer.Option(help='JSON {"<destination name>": "<URL or bot token>"}; otherwise each is asked for.'),
    ] = None,
    secrets_out: Annotated[
        Path | None, typer.Option(help="Also write the new strategy secrets here (JSON, 0600).")
    ] = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never ask: a destination without its secret is skipped.")
    ] = False,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Create the file's strategies (each with a new secret, shown once) and destinations (their URL or bot
    token asked for) in this stack; what exists already by name is left as it is."""
    content = _read(file)
    given: dict[str, str] = json.loads(destination_secrets.read_text(encoding="utf-8")) if destination_secrets else {}
    client = api_client(api_url, token)
    secrets = _import_strategies(client, content.get("strategies", []))
    skipped = _import_destinations(client, content.get("destinations", []), given, no_input=no_input)
    if secrets_out is not None and secrets:
        write_private(secrets_out, json.dumps(secrets, indent=2) + "\n")
        out.print(f"the new strategy secrets are also in {shown(secrets_out)} (readable by you only)")
    if secrets:
        out.print("paste each new secret into its strategy's TradingView alerts (`key`): the old ones fail here")
    if skipped:
        raise typer.Exit(1)


def _import_strategies(client: Any, strategies: list[dict[str, Any]]) -> dict[str, str]:
    """Create the strategies this stack lacks; returns name -> new secret."""
    with api_errors():
        existing = {key["name"].lower() for key in client.all_keys()}
    secrets: dict[str, str] = {}
    for strategy in strategies:
        name = strategy["name"]
        if name.lower() in existing:
            out.print(f"strategy {shown(name)}: exists, left as it is")
            continue
        created = call(client, "POST", "/keys", json_body={"name": name, "description": strategy["description"]})
        update: dict[str, Any] = {"signals": strategy.get("signals") or {}}
        if not strategy.get("enabled", True):
            update["enabled"] = False
        call(client, "PATCH", f"/keys/{created['id']}", json_body=update)
        secrets[name] = created["secret"]
        out.print(f"strategy {shown(name)}: created; its new secret (shown once): {created['secret']}")
    return secrets


def _import_destinations(
    client: Any, destinations: list[dict[str, Any]], given: dict[str, str], *, no_input: bool
) -> int:
    """Create the destinations this stack lacks; returns how many were skipped (no secret given, or refused)."""
    with api_errors():
        existing = {item["name"].lower() for item in client.request("GET", "/destinations")["items"]}
    skipped = 0
    for destination in destinations:
        name = destination["name"]
        if name.lower() in existing:
            out.print(f"destination {shown(name)}: exists, left as it is")
            continue
        body = {
            setting: destination[setting] for setting in _DESTINATION_SETTINGS if destination.get(setting) is not None
        }
        body["strategies"] = destination.get("strategies", [])
        secret_field = _SECRET_FIELDS.get(destination["kind"])
        if secret_field:
            value = given.get(name) or ("" if no_input else _ask(destination, secret_field))
            if not value:
                out.print(f"destination {shown(name)}: skipped, no {secret_field} given (add it later)")
                skipped += 1
                continue
            body[secret_field] = value
        try:
            created = client.request("POST", "/destinations", json_body=body)
        except AdminApiError as error:  # one refused destination (a URL this stack does not allow) is said
            out.print(f"destination {shown(name)}: not created: {shown(error.detail)}")
            skipped += 1
            continue
        signing = created.get("signing_secret")
        out.print(
            f"destination {shown(name)}: created"
            + (f"; its new signing secret (shown once): {signing}" if signing else "")
        )
    return skipped


def _ask(destination: dict[str, Any], secret_field: str) -> str:
    question = f"{destination['kind']} {destination['name']} (was {destination.get('was', '?')}): {secret_field}"
    return str(typer.prompt(question, default="", hide_input=True, show_default=False))
