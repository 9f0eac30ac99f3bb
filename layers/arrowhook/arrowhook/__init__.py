"""Arrowhook's shared domain code, shipped to every function as a Lambda layer."""

__version__ = "0.1.0"
