"""The local API Gateway's routing: template routes matched as API Gateway matches them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from arrowhook_tools.local.template import Route


@dataclass(frozen=True)
class MatchedRoute:
    route: Route
    path_parameters: dict[str, str]


class RouteTable:
    """HTTP API matching: exact paths beat `{param}` paths, which beat `{proxy+}`; ANY matches every method."""

    def __init__(self, routes: list[Route]) -> None:
        compiled = []
        for route in routes:
            pattern, specificity = self._compile(route.path)
            compiled.append((specificity, route.method == "ANY", pattern, route))
        compiled.sort(key=lambda entry: (entry[0], entry[1]))
        self._routes = compiled

    @staticmethod
    def _compile(path: str) -> tuple[re.Pattern[str], int]:
        if path == "$default":
            return re.compile(r"^/.*$"), 3
        specificity = 0
        parts = []
        for segment in path.strip("/").split("/"):
            greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
            param = re.fullmatch(r"\{(\w+)\}", segment)
            if greedy:
                parts.append(f"(?P<{greedy.group(1)}>.+)")
                specificity = max(specificity, 2)
            elif param:
                parts.append(f"(?P<{param.group(1)}>[^/]+)")
                specificity = max(specificity, 1)
            else:
                parts.append(re.escape(segment))
        return re.compile("^/" + "/".join(parts) + "$"), specificity

    def match(self, method: str, path: str) -> MatchedRoute | None:
        for _, _, pattern, route in self._routes:
            if route.method not in (method, "ANY"):
                continue
            found = pattern.match(path)
            if found:
                return MatchedRoute(route, {name: unquote(value) for name, value in found.groupdict().items()})
        return None
