"""Arrowhook's shared domain code, shipped to every function as a Lambda layer."""

__version__ = "0.2.0"
