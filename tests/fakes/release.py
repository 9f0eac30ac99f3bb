"""CodeDeploy's side of a pre-traffic check: what the hook reported."""

from __future__ import annotations

from typing import Any


class RecordedHookStatus:
    def __init__(self) -> None:
        self.reported: list[dict[str, Any]] = []

    def put_lifecycle_event_hook_execution_status(self, **kwargs: Any) -> dict[str, Any]:
        self.reported.append(kwargs)
        return {}
