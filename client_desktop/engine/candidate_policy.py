"""Which remote ICE candidates we are willing to probe: a peer must not steer our packets.

ICE sends connectivity checks to every address a peer lists, so without a
filter a hostile peer in the room could make our client send datagrams to
its own machine's services (loopback), to a cloud's metadata service
(169.254.169.254) or to anything on our network, and to thousands of them.
So we drop candidates at loopback (unless the signaling server itself is on
loopback: a single machine, as in tests and a hosted room on one computer),
link-local, unspecified, multicast, broadcast and known metadata addresses,
and keep at most ``MAX_REMOTE_CANDIDATES`` per connection. Host names other
than mDNS ``.local`` names are dropped too (aioice would not resolve them).
Pure: text in, text out; the mesh applies it to remote SDP and trickled
candidates alike.
"""

import ipaddress
from dataclasses import dataclass

MAX_REMOTE_CANDIDATES = 32
"""A browser lists well under 20 (host per interface, reflexive, relayed); this leaves room."""

_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack …
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)


@dataclass(frozen=True, slots=True)
class CandidateFilter:
    allow_loopback: bool
    max_candidates: int = MAX_REMOTE_CANDIDATES

    def allows_address(self, address: str) -> bool:
        """Whether we may send connectivity checks to ``address`` (an IP or an mDNS name)."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return address.lower().endswith(".local")
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_loopback:
            return self.allow_loopback
        return not (
            ip.is_link_local
            or ip.is_unspecified
            or ip.is_multicast
            or ip == ipaddress.IPv4Address("255.255.255.255")
            or ip in _METADATA
        )

    def allows_candidate(self, candidate: str) -> bool:
        """``candidate`` as in SDP (``candidate:FOUNDATION COMPONENT TRANSPORT PRIORITY ADDRESS …``)."""
        fields = candidate.removeprefix("a=").removeprefix("candidate:").split()
        return len(fields) >= 6 and self.allows_address(fields[4])

    def admits(self, candidate: str, kept: int) -> bool:
        """Whether to keep ``candidate`` when ``kept`` of this connection's were kept already."""
        return kept < self.max_candidates and self.allows_candidate(candidate)

    def sdp(self, sdp: str) -> tuple[str, int]:
        """``sdp`` without the candidates we refuse, and at most ``max_candidates``; and how many went."""
        kept, dropped, lines = 0, 0, []
        for line in sdp.splitlines(keepends=True):
            if line.startswith("a=candidate:"):
                if not self.admits(line.strip(), kept):
                    dropped += 1
                    continue
                kept += 1
            lines.append(line)
        return "".join(lines), dropped


def server_is_loopback(host: str) -> bool:
    """Whether the signaling server's host is this machine's loopback (then peers share it too)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
