"""Documentation pages generated from their source of truth; `make docs` writes them, a test fails
when a committed page differs from what its source generates now."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from arrowhook_tools.template import PROJECT_ROOT, load_template

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


#: Every generated page and the function that generates it.
GENERATED: dict[str, Callable[[], str]] = {"parameters.md": parameters_page}


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
