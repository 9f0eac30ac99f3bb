"""Admin authorizer: bearer token from an SSM SecureString, constant-time compare, fail closed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest

from arrowhook.admin.auth import bearer_token, token_matches
from arrowhook_tools.local.runtime import LocalContext
from arrowhook_tools.local.template import PROJECT_ROOT, LocalTemplate
from arrowhook_tools.standins.embedded_aws import provision_secure_parameters
from tests.conftest import load_module


@pytest.fixture
def admin_token(aws: Any, template: LocalTemplate, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from aws_lambda_powertools.utilities import parameters

    for name, value in template.function_spec("AuthorizerFunction").environment.items():
        monkeypatch.setenv(name, value)
    parameters.clear_caches()  # type: ignore[no-untyped-call]  # each test's moto account generates a new token under the same name
    yield provision_secure_parameters(template, boto3.client("ssm"))["AdminTokenParameter"]


@pytest.fixture
def authorizer(admin_token: str) -> ModuleType:
    return load_module(PROJECT_ROOT / "functions/authorizer/app.py", "authorizer_under_test")


def authorize(module: ModuleType, header: str | None) -> Any:
    headers = {} if header is None else {"authorization": header}
    event = {
        "version": "2.0",
        "type": "REQUEST",
        "identitySource": [header] if header else [],
        "headers": headers,
        "routeKey": "GET /keys",
        "rawPath": "/keys",
        "requestContext": {"requestId": "r-1", "http": {}},
    }
    return module.lambda_handler(event, LocalContext(function_name="AuthorizerFunction"))


def test_generated_token_is_long_and_safe_in_a_header_and_a_shell(admin_token: str) -> None:
    """288 random bits in URL-safe base64: RFC 6750's b64token alphabet, nothing a shell would expand."""
    assert re.fullmatch(r"[A-Za-z0-9_-]{48}", admin_token)


@pytest.mark.parametrize("header_format", ["Bearer {t}", "bearer {t}", "BEARER   {t}  "])
def test_right_token_is_authorized(authorizer: ModuleType, admin_token: str, header_format: str) -> None:
    assert authorize(authorizer, header_format.format(t=admin_token)) == {"isAuthorized": True}


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic {t}",
        "{t}",
        "Bearer {t}x",
        "Bearer {short}",
        "Bearer {t} extra",
        "Token {t}",
        "Bearer wrong-token",
    ],
)
def test_anything_else_is_denied(authorizer: ModuleType, admin_token: str, header: str | None) -> None:
    value = None if header is None else header.format(t=admin_token, short=admin_token[:-1])
    assert authorize(authorizer, value) == {"isAuthorized": False}


def test_secrets_manager_outage_fails_closed(
    authorizer: ModuleType, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # type: ignore[no-untyped-call]

    def unavailable(*_: Any, **__: Any) -> str:
        raise parameters.exceptions.GetParameterError("parameter store unavailable")

    monkeypatch.setattr("arrowhook.aws.secure_parameters.parameters.get_parameter", unavailable)
    assert authorize(authorizer, f"Bearer {admin_token}") == {"isAuthorized": False}


def test_parsing_helpers() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("Bearer a b") is None
    assert token_matches("abc", "abc") and not token_matches("abd", "abc") and not token_matches(None, "abc")
    assert not token_matches("", "")


def test_a_rotated_admin_token_works_at_once_and_the_old_one_stops_within_the_cache(
    authorizer: ModuleType, admin_token: str, template: LocalTemplate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new token was refused (and API Gateway cached the refusal) for about five minutes: the warm
    authorizer trusted its cached token. A token that does not match is checked against a fresh read."""
    from aws_lambda_powertools.utilities import parameters

    assert authorize(authorizer, f"Bearer {admin_token}") == {"isAuthorized": True}  # cached now
    name = template.function_spec("AuthorizerFunction").environment["ADMIN_TOKEN_PARAMETER"]
    boto3.client("ssm").put_parameter(Name=name, Value="n" * 48, Type="SecureString", Overwrite=True)
    assert authorize(authorizer, "Bearer " + "n" * 48) == {"isAuthorized": True}, "the new token, at once"
    assert authorize(authorizer, "Bearer " + "w" * 48) == {"isAuthorized": False}
    clock = [authorizer._last_fresh_read[0]]
    monkeypatch.setattr(authorizer.time, "monotonic", lambda: clock[0])
    assert authorize(authorizer, "Bearer " + "x" * 48) == {"isAuthorized": False}
    reads: list[dict[str, Any]] = []

    def reading(*_: Any, **options: Any) -> str:
        reads.append(options)
        return "n" * 48

    monkeypatch.setattr(parameters, "get_parameter", reading)
    for _ in range(50):  # a flood of wrong tokens: no fresh read inside the interval
        authorize(authorizer, "Bearer " + "y" * 48)
    assert not any(read.get("force_fetch") for read in reads)
    clock[0] += authorizer.FRESH_READ_EVERY_SECONDS
    authorize(authorizer, "Bearer " + "y" * 48)
    assert [read.get("force_fetch") for read in reads][-2:] == [False, True]
    assert int(template.parameters["AuthorizerCacheSeconds"]) * 2 <= 60, "the old token ends within a minute"
