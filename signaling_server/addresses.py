"""Which address a client connects from, when a reverse proxy may stand in front of the server.

Behind a proxy every connection comes from the proxy, so the per-address
rules (password back-off, the cap on connections waiting to join) and the
``addr=`` of the logs would all see one client. A proxy names the real one
in ``X-Forwarded-For``, but anyone can send that header: it is believed
only from a proxy the operator trusts, and only as far as the chain of
trusted proxies goes. The client is the right-most address not itself
trusted (each proxy appends the address it saw; what lies to the left of
the first untrusted one came from the client and may be made up).
"""

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def network(text: str) -> Network:
    """``192.0.2.7``, ``10.0.0.0/8`` or ``::1``: one address is a network of one.

    Raises:
        ValueError: not an IP address or network.
    """
    return ipaddress.ip_network(text.strip(), strict=False)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client's address: ``peer`` (the TCP peer), or what trusted proxies say it forwarded.

    Args:
        peer: the TCP peer's address.
        forwarded_for: every ``X-Forwarded-For`` header of the request, in order.
        trusted: the proxies whose ``X-Forwarded-For`` is believed.

    A header that cannot be read (not addresses separated by commas) is
    ignored: the peer is then the best the server knows.
    """
    hop = _address(peer)
    if hop is None or not _within(hop, trusted):
        return peer
    chain = [item.strip() for header in forwarded_for for item in header.split(",")]
    for text in reversed(chain):
        forwarded = _address(text)
        if forwarded is None:
            return peer
        hop = forwarded
        if not _within(hop, trusted):
            break
    return str(hop)


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket's ::ffff:192.0.2.7 is 192.0.2.7
    return address


def _within(address: Address, networks: Sequence[Network]) -> bool:
    return any(address in net for net in networks)
