"""Documentation pages generated from their source of truth; `make docs` writes them, a test fails
when a committed page differs from what its source generates now."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arrowhook_tools.local.template import PROJECT_ROOT, load_template

DOCS = PROJECT_ROOT / "docs"


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _range(spec: dict[str, Any]) -> str:
    if "AllowedValues" in spec:
        return ", ".join(f"`{value}`" for value in spec["AllowedValues"])
    low, high = spec.get("MinValue"), spec.get("MaxValue")
    if low is not None or high is not None:
        return f"{'' if low is None else low} .. {'' if high is None else high}"
    if "AllowedPattern" in spec:
        return "see description"
    return ""


def parameters_page(template_path: Path = PROJECT_ROOT / "template.yaml") -> str:
    parameters: dict[str, dict[str, Any]] = load_template(template_path)["Parameters"]
    rows = [
        f"| `{name}` | `{_cell(spec.get('Default', ''))}` | {_range(spec)} | {_cell(spec.get('Description', ''))} |"
        for name, spec in parameters.items()
    ]
    return "\n".join(
        [
            "# Template parameters",
            "",
            "Generated from `template.yaml` by `make docs` (do not edit). Set them with",
            "`sam deploy --parameter-overrides Name=value` (or in `samconfig.toml`), and locally with",
            "`arrowhook dev --parameter-overrides Name=value`.",
            "",
            "| parameter | default | allowed | what it does |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )


#: What each kind of field (its annotation in AlertFields) becomes.
_KINDS = {
    "Text": "text, up to 256 characters",
    "LongText": "text, up to 4,096 characters (empty is nothing, not a parse issue)",
    "Amount": "exact decimal (38 significant digits at most; strings and JSON numbers alike)",
    "Timestamp": "UTC timestamp (ISO 8601, or epoch seconds or milliseconds)",
    "PositionField": "`long`, `short` or `flat`",
}
_NOTES = {
    "ticker": "; upper-cased, and `BINANCE:BTCUSDT` also fills `exchange`",
    "exchange": "; upper-cased",
}


def fields_page() -> str:
    from arrowhook.core.tradingview import FIELD_ALIASES, SECRET_FIELDS, SIDE_SYNONYMS, AlertFields, Side

    kinds = dict(_KINDS)
    kinds["SideField"] = "; ".join(
        f"`{side.value}` ({', '.join(word for word, meaning in SIDE_SYNONYMS.items() if meaning is side)})"
        for side in Side
    )
    rows = []
    for field, aliases in FIELD_ALIASES.items():
        kind = kinds[str(AlertFields.__annotations__[field])]
        rows.append(f"| `{field}` | {', '.join(f'`{alias}`' for alias in aliases)} | {kind}{_NOTES.get(field, '')} |")
    return "\n".join(
        [
            "# Alert fields",
            "",
            "Generated from `arrowhook.core.tradingview` by `make docs` (do not edit). Keys are matched",
            'case-insensitively, flat (`"strategy.order.action"`) or nested (`{"strategy": {"order": {...}}}`);',
            "the first key present wins. Any other key is kept in `extra` (nested keys flattened with dots).",
            f"The secret is read from {', '.join(f'`{name}`' for name in SECRET_FIELDS)} (or the URL); it is never"
            " stored.",
            "",
            "| field | keys it is read from | what it becomes |",
            "|---|---|---|",
            *rows,
            "",
            "A value that cannot be read (an unreplaced `{{placeholder}}`, `NaN`, an empty string, a wrong type,",
            "an unknown side) becomes null and is listed in the alert's `parse_issues`; the alert is still stored.",
            "An unreplaced placeholder in an `extra` value is listed too (the value is kept as sent).",
            "",
        ]
    )


def metrics_page() -> str:
    from arrowhook.core.observability import METRIC_MEANINGS

    rows = [f"| `{metric.value}` | {who} | {meaning} |" for metric, (who, meaning) in METRIC_MEANINGS.items()]
    return "\n".join(
        [
            "# Metrics",
            "",
            "Generated from `arrowhook.core.observability.Metric` by `make docs` (do not edit). CloudWatch namespace",
            "`Arrowhook`, dimension `service` (`arrowhook`), published as embedded metric format log lines by",
            "Powertools Metrics; every function also publishes `ColdStart` (dimension `function_name`). Alarms",
            "and the dashboard: [operations.md](operations.md).",
            "",
            "| metric | published by | counts |",
            "|---|---|---|",
            *rows,
            "",
        ]
    )


def _commands(command: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    if hasattr(command, "commands"):
        found = [(path, command)] if path[1:] else []
        for name, sub in command.commands.items():
            found.extend(_commands(sub, [*path, name]))
        return found
    return [(path, command)]


def cli_page() -> str:
    import typer.main

    from arrowhook_tools.cli import app

    root = typer.main.get_command(app)
    lines = [
        "# CLI reference",
        "",
        "Generated from the `arrowhook` command's own definitions by `make docs` (do not edit); how to use",
        "it: [cli.md](cli.md). `arrowhook COMMAND --help` prints the same.",
        "",
        "Global option: "
        + ", ".join(f"`{' / '.join(param.opts)}` ({_cell(getattr(param, 'help', ''))})" for param in root.params),
        "",
    ]
    for path, command in _commands(root, ["arrowhook"]):
        if hasattr(command, "commands"):
            lines += [f"## `{' '.join(path)}`", "", _cell(command.help or ""), ""]
            continue
        lines += [f"### `{' '.join(path)}`", "", _cell((command.help or "").strip()), ""]
        rows = []
        for param in command.params:
            names = " / ".join(param.opts) if param.param_type_name == "option" else param.name.upper()
            default = "" if param.default in (None, False, ()) or param.required else f"`{param.default}`"
            rows.append(f"| `{names}` | {_cell(getattr(param, 'help', None) or '')} | {default} |")
        if rows:
            lines += ["| argument / option | meaning | default |", "|---|---|---|", *rows, ""]
    return "\n".join(lines)


#: Every generated page and the function that generates it.
def live_message_schema() -> str:
    from arrowhook.admin.live_messages import message_schema

    return json.dumps(message_schema(), indent=2) + "\n"


GENERATED: dict[str, Callable[[], str]] = {
    "parameters.md": parameters_page,
    "fields.md": fields_page,
    "metrics.md": metrics_page,
    "cli-reference.md": cli_page,
    "schemas/live-message.schema.json": live_message_schema,
}


def write_all() -> list[Path]:
    written = []
    for name, generate in GENERATED.items():
        path = DOCS / name
        path.write_text(generate())
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(f"wrote {path.relative_to(PROJECT_ROOT)}")
