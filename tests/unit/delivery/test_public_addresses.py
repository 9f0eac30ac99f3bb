"""Destinations reach only public addresses, checked at creation and at send time. Names are resolved by an
injected resolver and no connection is ever made to a refused address: the only traffic these tests send
goes to a receiver on 127.0.0.1, through the local stack's own allowance or a faked check."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from arrowhook.delivery.admin import DestinationAdmin, DestinationChanges
from arrowhook.delivery.channels import HttpTransport
from arrowhook.delivery.kinds.base import InvalidDestinationError, OutboundRequest, masked
from arrowhook.delivery.kinds.registry import DestinationKind
from arrowhook.delivery.public_addresses import NotPublicError, is_public, public_addresses
from arrowhook_tools.standins.receivers import Receivers

REFUSED = [
    "169.254.169.254",  # instance metadata
    "127.0.0.1",  # the Lambda runtime API listens on 127.0.0.1:9001
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "0.0.0.0",
    "::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
    "fe80::1%eth0",
    "fd00::1",
    "100.64.0.1",  # carrier-grade NAT
    "224.0.0.1",
]
#: What names resolve to, for the tests (the decimal and short forms are what inet_aton makes of them).
NAMES = {
    "localhost": ["127.0.0.1", "::1"],
    "2130706433": ["127.0.0.1"],
    "0x7f.1": ["127.0.0.1"],
    "rebinds.example": ["93.184.216.34", "10.0.0.7"],
    "hooks.example": ["93.184.216.34"],
}


def resolver(host: str, _port: int) -> list[str]:
    """A literal address is itself; a name is looked up in NAMES (no lookup ever leaves the process)."""
    import ipaddress

    if host in NAMES:
        return NAMES[host]
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        raise OSError("no such name") from None
    return [host]


@pytest.mark.parametrize("address", REFUSED)
def test_internal_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)
    with pytest.raises(NotPublicError, match="not a public address"):
        public_addresses(f"https://[{address}]/x" if ":" in address else f"https://{address}/x", resolver)


@pytest.mark.parametrize("host", ["localhost", "2130706433", "0x7f.1", "rebinds.example"])
def test_a_name_is_refused_when_any_of_its_addresses_is_internal(host: str) -> None:
    with pytest.raises(NotPublicError, match="not a public address"):
        public_addresses(f"http://{host}:9001/2018-06-01/runtime/invocation/next", resolver)


def test_a_public_name_passes_with_its_port() -> None:
    assert public_addresses("https://hooks.example:8443/tv", resolver) == ("hooks.example", 8443, ["93.184.216.34"])
    with pytest.raises(NotPublicError, match="does not resolve") as unresolved:
        public_addresses("https://nowhere.invalid/x", resolver)
    assert unresolved.value.permanent is False, "a name that does not resolve yet is retried"


def _admin() -> DestinationAdmin:
    return DestinationAdmin(store=None, secrets=None, keys=None, resolve=resolver)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/x",
        "https://2130706433/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://rebinds.example/x",
        "https://10.0.0.5:8443/hook",
    ],
)
def test_creating_a_destination_to_an_internal_address_is_refused(url: str) -> None:
    with pytest.raises(InvalidDestinationError, match=r"url: .*(public|resolve)"):
        _admin()._secret(DestinationKind.WEBHOOK, DestinationChanges(url=url), _empty_secret())


def test_a_public_webhook_url_is_accepted() -> None:
    secret, target = _admin()._secret(
        DestinationKind.WEBHOOK, DestinationChanges(url="https://hooks.example/tv?token=abc"), _empty_secret()
    )
    assert secret.url == "https://hooks.example/tv?token=abc" and target == "https://hooks.example/…tv…"


def _empty_secret() -> Any:
    from arrowhook.delivery.destinations import DestinationSecret

    return DestinationSecret()


def test_sending_to_an_internal_address_is_refused_without_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = HttpTransport(resolve=resolver)
    monkeypatch.setattr(transport, "_pool_for", lambda *_: pytest.fail("connected to a refused address"))
    for url in ("https://rebinds.example/x", "http://169.254.169.254/latest", "http://localhost:9001/x"):
        answer = transport.post(OutboundRequest(url, b"{}", {}), 1.0)
        assert (answer.status, answer.permanent) == (None, True) and answer.error is not None
        assert answer.error.startswith("refused: ") and "not a public address" in answer.error


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """The name is resolved once, checked, and the checked address is what is connected to (a second
    lookup could answer otherwise). The receiver is on 127.0.0.1: the check is faked to pass it."""
    receivers = Receivers().start()
    try:
        port = int(receivers.url.rsplit(":", 1)[1])
        monkeypatch.setattr(
            "arrowhook.delivery.channels.public_addresses", lambda url, _: ("hooks.example", port, ["127.0.0.1"])
        )
        answer = HttpTransport(resolve=resolver).post(
            OutboundRequest(f"http://hooks.example:{port}/hook/checked?x=1", b"{}", {}), 5.0
        )
        assert answer.status == 204, answer
        (received,) = receivers.at("/hook/checked")
        assert received.path == "/hook/checked?x=1" and received.headers["Host"] == f"hooks.example:{port}"
    finally:
        receivers.stop()


@pytest.mark.parametrize(
    "url",
    [
        "https://discord.com/api/webhooks/1/x",  # a fuzzer's example: the local stack must not reach it
        "https://api.telegram.org/bot1:x/sendMessage",
        "http://10.0.0.5/hook",
        "http://93.184.216.34/hook",
        "http://2130706433/hook",
    ],
)
def test_the_local_stack_reaches_nothing_beyond_this_machine(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """AllowHttpDestinations (the local stack): a destination elsewhere is refused at creation, and a send
    there (Telegram's API included) is refused without a lookup or a connection."""
    monkeypatch.setattr("socket.getaddrinfo", lambda *_, **__: pytest.fail("looked up a name"))
    local = DestinationAdmin(store=None, secrets=None, keys=None, allow_http=True)  # type: ignore[arg-type]
    with pytest.raises(InvalidDestinationError, match="is not on this machine"):
        local._secret(DestinationKind.WEBHOOK, DestinationChanges(url=url), _empty_secret())
    transport = HttpTransport(allow_local=True)
    monkeypatch.setattr(transport._pool, "request", lambda *_, **__: pytest.fail("connected beyond this machine"))
    answer = transport.post(OutboundRequest(url, b"{}", {}), 1.0)
    assert (answer.status, answer.permanent) == (None, True) and "is not on this machine" in str(answer.error)


def test_the_local_stack_reaches_its_fakes_on_this_machine() -> None:
    local = DestinationAdmin(store=None, secrets=None, keys=None, allow_http=True)  # type: ignore[arg-type]
    for url in ("http://127.0.0.1:9/hook", "http://localhost:9/hook", "http://[::1]:9/hook", "http://127.8.0.1/x"):
        secret, _ = local._secret(DestinationKind.WEBHOOK, DestinationChanges(url=url), _empty_secret())
        assert secret.url == url


def test_hints_never_carry_credentials() -> None:
    assert masked("https://ops:hunter2@hooks.example/tv/abcdef?token=s3cret#frag") == "https://hooks.example/…abcd…"
    assert masked("https://hooks.example/?token=s3cret") == "https://hooks.example"
    assert "s3cret" not in masked("https://hooks.example/tv?token=s3cret")


def test_a_leaky_hint_stored_before_is_masked_when_read() -> None:
    from arrowhook.delivery.destinations_store import _destination

    now = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    item = {
        "pk": {"S": "DESTINATION#D"},
        "id": {"S": "D"},
        "name": {"S": "n"},
        "kind": {"S": "webhook"},
        "template": {"S": "{ticker}"},
        "target": {"S": "https://ops:hunter2@hooks.example/x?token=abc"},
        "created_at": {"S": now},
        "updated_at": {"S": now},
    }
    assert _destination(item).target == "https://hooks.example/…x…"
