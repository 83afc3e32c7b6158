"""The client's address, as far as it can be believed.

The socket's peer is the client, unless the peer is one of the operator's own proxies
(the ``trusted_proxies`` setting): then X-Forwarded-For is read from the right, each
trusted proxy's entry skipped, and the first address no trusted proxy vouches for is
the client. Entries further left were written by the client itself and may be
anything, so they are never read: a client cannot choose its address (to dodge a
throttle, or to pin one on somebody else) by sending the header."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from fastapi import Request

Network = IPv4Network | IPv6Network
FORWARDED_FOR = "x-forwarded-for"


def trusted_networks(setting: str) -> tuple[Network, ...]:
    """The ``trusted_proxies`` setting (comma-separated addresses or CIDR ranges);
    a ValueError names an entry that is neither."""
    found: list[Network] = []
    for part in setting.split(","):
        entry = part.strip()
        if entry:
            try:
                found.append(ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"trusted_proxies: {entry!r} is not an address or range") from None
    return tuple(found)


def _address(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address | None, trusted: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in trusted)


def client_address(peer: str, forwarded_for: list[str], trusted: tuple[Network, ...]) -> str:
    """``peer``: the socket's; ``forwarded_for``: every X-Forwarded-For header value,
    in the order received."""
    if not _trusted(_address(peer), trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    current = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # not an address: whoever wrote it is not believed further
            return current
        current = str(address)
        if not _trusted(address, trusted):
            return current
    return current  # every hop is a trusted proxy: the left-most one is what we know


def client_of(request: Request) -> str:
    trusted: tuple[Network, ...] = getattr(request.app.state, "trusted_proxies", ())
    peer = request.client.host if request.client else "unknown"
    return client_address(peer, request.headers.getlist(FORWARDED_FOR), trusted)
