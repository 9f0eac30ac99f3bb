"""The admin API over HTTP, for the CLI: the same calls work against `make dev` and a deployed stack."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from arrowhook_tools.local.state import write_private

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


#: Named logins (`arrowhook login --profile prod`); `--profile` or ARROWHOOK_PROFILE picks one.
PROFILE_ENV = "ARROWHOOK_PROFILE"
DEFAULT_PROFILE = "default"


def read_profiles(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Saved logins by profile name; a file from before profiles is the default profile."""
    try:
        saved = json.loads((path or CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict):
        return {}
    if isinstance(saved.get("profiles"), dict):
        return dict(saved["profiles"])
    return {DEFAULT_PROFILE: saved} if "api_url" in saved else {}


def save_login(api_url: str, token: str, stack: str, path: Path | None = None, profile: str = DEFAULT_PROFILE) -> Path:
    path = path or CONFIG_FILE
    profiles = read_profiles(path)
    profiles[profile] = {"api_url": api_url.rstrip("/"), "token": token, "stack": stack}
    write_private(path, json.dumps({"profiles": profiles}, indent=2))
    return path


def resolve_target(
    api_url: str | None, token: str | None, config_file: Path | None = None, profile: str | None = None
) -> Target:
    """Flags or ARROWHOOK_* variables first; then the profile asked for (`--profile`, ARROWHOOK_PROFILE);
    otherwise a running `make dev`, then the default profile.

    A running local stack wins over a saved login so that a command typed while developing never
    reaches a deployed stack by surprise. A saved token is only ever sent to the URL it was saved for:
    `--api-url` without `--token` uses a saved login of that same URL, or fails.
    """
    if api_url and token:
        return Target(api_url.rstrip("/"), token, "options")
    from arrowhook_tools.local.state import read_state

    profile = profile or os.environ.get(PROFILE_ENV) or None
    profiles = read_profiles(config_file)
    candidates: list[tuple[str, dict[str, Any]]] = []
    if profile is not None:
        if profile not in profiles:
            raise AdminApiError(0, f"no saved login named {profile!r}: run `arrowhook login --profile {profile} ...`")
        candidates.append((f"profile {profile}", profiles[profile]))
    else:
        state = read_state()
        if state is not None:
            candidates.append(("make dev", state))
        if DEFAULT_PROFILE in profiles:
            candidates.append(("arrowhook login", profiles[DEFAULT_PROFILE]))
    for source, found in candidates:
        saved_url = str(found.get("api_url") or "").rstrip("/")
        saved_token = found.get("token") or found.get("admin_token")
        if not saved_url or not saved_token:
            continue
        if api_url and api_url.rstrip("/") != saved_url:
            continue  # never send a token saved for one URL to another
        return Target(saved_url, token or str(saved_token), source)
    if api_url:
        raise AdminApiError(
            0, f"no admin token saved for {api_url}: pass --token, or `arrowhook login --profile NAME` for that stack"
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

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> Any:
        """One call; `content` (with its `content_type`) sends a body as it is, a file say."""
        headers = {"Content-Type": content_type} if content_type else None
        try:
            response = self._http.request(
                method,
                path,
                json=json_body,
                content=content,
                headers=headers,
                params={k: v for k, v in (params or {}).items() if v is not None},
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
    if not isinstance(body, dict):
        return f"{body} (HTTP {response.status_code})"
    details = body.get("details")
    if isinstance(details, list) and details:  # a request that did not match the schema
        return "; ".join(
            f"{item.get('field', '?')}: {item.get('problem')}" for item in details if isinstance(item, dict)
        )
    # Arrowhook's envelope has "message"; API Gateway's own answers (401, 403, 429) have only "message" too.
    return f"{body.get('message', body)} (HTTP {response.status_code})"
