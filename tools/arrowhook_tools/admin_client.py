"""The admin API over HTTP, for the CLI: the same calls work against `make dev` and a deployed stack."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

CONFIG_FILE = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "arrowhook" / "config.json"


class AdminApiError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Target:
    api_url: str
    token: str
    source: str


def save_login(api_url: str, token: str, stack: str, path: Path | None = None) -> Path:
    path = path or CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(json.dumps({"api_url": api_url, "token": token, "stack": stack}), encoding="utf-8")
    path.chmod(0o600)
    return path


def resolve_target(api_url: str | None, token: str | None, config_file: Path | None = None) -> Target:
    """Flags or ARROWHOOK_* variables first, then a running `make dev`, then `arrowhook login`'s file.

    A running local stack wins over a saved login so that a command typed while developing never
    reaches a deployed stack by surprise.
    """
    if api_url and token:
        return Target(api_url.rstrip("/"), token, "options")
    from arrowhook_tools.local import read_state

    candidates: list[tuple[str, dict[str, Any]]] = []
    state = read_state()
    if state is not None:
        candidates.append(("make dev", state))
    with contextlib.suppress(OSError, ValueError):
        saved = (config_file or CONFIG_FILE).read_text(encoding="utf-8")
        candidates.append(("arrowhook login", json.loads(saved)))
    for source, found in candidates:
        if found.get("api_url") and found.get("token" if "token" in found else "admin_token"):
            return Target(
                (api_url or found["api_url"]).rstrip("/"),
                token or found.get("token") or found["admin_token"],
                source,
            )
    raise AdminApiError(
        0, "no admin API: pass --api-url and --token, run `arrowhook login --stack NAME`, or start `make dev`"
    )


class AdminClient:
    def __init__(self, target: Target, timeout: float = 30) -> None:
        self.target = target
        self._http = httpx.Client(
            base_url=target.api_url, timeout=timeout, headers={"Authorization": f"Bearer {target.token}"}
        )

    def request(self, method: str, path: str, *, json_body: Any = None, params: dict[str, Any] | None = None) -> Any:
        try:
            response = self._http.request(
                method, path, json=json_body, params={k: v for k, v in (params or {}).items() if v is not None}
            )
        except httpx.HTTPError as error:
            raise AdminApiError(0, f"cannot reach {self.target.api_url}: {error}") from None
        if response.status_code in (401, 403):
            raise AdminApiError(response.status_code, f"not authorized by {self.target.api_url}: check the admin token")
        if response.status_code >= 400:
            raise AdminApiError(response.status_code, _detail(response))
        return response.json() if response.content else None

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Every page of a listing, following `next_cursor` until the last one."""
        cursor = None
        while True:
            page = self.request("GET", path, params={**params, "cursor": cursor})
            yield page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def all_keys(self, name: str | None = None) -> list[dict[str, Any]]:
        return [key for page in self.pages("/keys", {"name": name, "limit": 100}) for key in page]


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    detail = body.get("detail", body.get("message", body)) if isinstance(body, dict) else body
    if isinstance(detail, list):  # FastAPI validation errors
        return "; ".join(
            f"{'.'.join(str(part) for part in item.get('loc', [])[1:])}: {item.get('msg')}" for item in detail
        )
    return f"{detail} (HTTP {response.status_code})"
