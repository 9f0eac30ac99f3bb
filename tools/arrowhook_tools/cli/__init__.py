"""`arrowhook`: the developer and operator command line."""

from arrowhook_tools.cli.main import app, main

__all__ = ["app", "main"]
