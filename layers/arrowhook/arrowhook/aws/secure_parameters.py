"""Secrets the stack makes for itself (the admin token, the cursor signing key).

Kept as SSM Parameter Store SecureStrings under the AWS-managed `aws/ssm` key: encrypted at rest with
no monthly fee (a Secrets Manager secret costs $0.40 a month each, most of an idle stack's bill).
CloudFormation cannot create a SecureString, so a custom resource (functions/secure_parameter) calls
`create` and `delete` at deploy time; the local stack calls the same two. Functions read the values
through Powertools Parameters, cached.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from aws_lambda_powertools.utilities import parameters

#: A generated value: 36 random bytes, URL-safe base64 (48 characters, 288 bits).
DEFAULT_ENTROPY_BYTES = 36
#: Every parameter the stack owns lives under this prefix (the deploy-time function may touch no other).
NAME_PREFIX = "/arrowhook/"


def check_name(name: object) -> str:
    """A name the stack may own: under /arrowhook/, so a bad property can never reach another parameter."""
    if not isinstance(name, str) or not name.startswith(NAME_PREFIX) or len(name) > 1011 or name.endswith("/"):
        raise ValueError(f"a secure parameter name must start with {NAME_PREFIX} (got {name!r})")
    return name


def create(client: Any, name: str, description: str, entropy_bytes: int = DEFAULT_ENTROPY_BYTES) -> None:
    """Generate and store the value, unless the parameter exists: a retried create (CloudFormation
    retries, a local restart) never replaces a token an operator may already hold."""
    if not 32 <= entropy_bytes <= 1024:
        raise ValueError("entropy_bytes must be 32..1024")
    with contextlib.suppress(client.exceptions.ParameterAlreadyExists):
        client.put_parameter(
            Name=check_name(name),
            Description=description[:1024],
            Value=secrets.token_urlsafe(entropy_bytes),
            Type="SecureString",
            Tier="Standard",
            Overwrite=False,
        )


def delete(client: Any, name: str) -> None:
    """Gone already counts as deleted (a stack rolling back a create that never happened)."""
    with contextlib.suppress(client.exceptions.ParameterNotFound):
        client.delete_parameter(Name=check_name(name))


def secure_value(name: str, max_age_seconds: int, *, fresh: bool = False) -> str:
    """The decrypted value through Powertools Parameters, cached for `max_age_seconds` per warm function
    (`fresh`: read it now, and cache that)."""
    value = parameters.get_parameter(name, decrypt=True, max_age=max_age_seconds, force_fetch=fresh)
    return str(value)
