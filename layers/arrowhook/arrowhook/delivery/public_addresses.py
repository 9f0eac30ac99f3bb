"""Where a destination may point: only public internet addresses. A URL is an operator's text, and the
delivery function runs inside AWS: `http://169.254.169.254/` (instance metadata), `127.0.0.1:9001`
(the Lambda runtime API), 10/8 and friends, `[::1]`, `::ffff:127.0.0.1`, `0.0.0.0`, `2130706433` or a
name that resolves to any of them must never be reached, at creation nor at send time.

The name is resolved here, every address it has is checked, and the caller connects to a checked
address (not to the name again: a second lookup could answer otherwise, DNS rebinding). Resolution is
injected, so the tests refuse such addresses without ever connecting to one.

The local stack (AllowHttpDestinations) turns the rule around: its destinations are the fakes on this
machine, and nothing it forwards may leave it (a fuzzer's `https://discord.com/...` included), so only
a loopback address or `localhost` is accepted, and nothing is looked up.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

#: host, port -> the addresses it resolves to (socket.getaddrinfo's, by default).
Resolver = Callable[[str, int], list[str]]


class NotPublicError(ValueError):
    """The URL's host is, or resolves to, an address that is not on the public internet."""

    #: False when the name did not resolve: that may change, a private address will not.
    permanent = True


class UnresolvedHostError(NotPublicError):
    permanent = False


class OffMachineError(NotPublicError):
    """The local stack was asked to reach beyond this machine."""


def on_this_machine(url: str) -> None:
    """Accept a URL whose host is a loopback address or `localhost`; OffMachineError otherwise (no lookup:
    a DNS query would leave the machine too)."""
    host = urlsplit(url).hostname
    if not host:
        raise NotPublicError("the URL has no host")
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise OffMachineError(f"{host} is not on this machine: the local stack forwards only to 127.0.0.1, [::1]")


def system_resolver(host: str, port: int) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def is_public(address: str) -> bool:
    """A global unicast address: not private, loopback, link-local, unspecified, multicast or reserved,
    and an IPv4-mapped or 6to4 IPv6 address is judged by the IPv4 address it carries."""
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address):
        carried = parsed.ipv4_mapped or parsed.sixtofour
        if carried is not None:
            parsed = carried
    return parsed.is_global and not parsed.is_multicast


def public_addresses(url: str, resolve: Resolver = system_resolver) -> tuple[str, int, list[str]]:
    """The URL's host, port and its addresses, every one of them public; NotPublicError otherwise."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise NotPublicError("the URL has no host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        raise UnresolvedHostError(f"{host} does not resolve") from None
    if not addresses:
        raise UnresolvedHostError(f"{host} does not resolve")
    refused = [address for address in addresses if not is_public(address)]
    if refused:
        raise NotPublicError(f"{host} is not a public address ({', '.join(refused[:3])})")
    return host, port, addresses
