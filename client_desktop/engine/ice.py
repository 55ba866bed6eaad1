"""One fix to aioice's host candidates, applied when the mesh is imported.

aioice never offers 127.0.0.1, so on a host whose only interface is the
loopback (a container, a namespace, a laptop on a plane hosting a room for
itself) peers never connect and nobody says why. When no other address
exists we offer the loopback; otherwise aioice's list stands.
"""

from collections.abc import Callable

import aioice.ice

_HostAddresses = Callable[[bool, bool], list[str]]


def _with_loopback_fallback(original: _HostAddresses) -> _HostAddresses:
    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        found = original(use_ipv4, use_ipv6)
        if found:
            return found
        return ["127.0.0.1"] if use_ipv4 else ["::1"] if use_ipv6 else []

    host_addresses.voxroom_patched = True  # type: ignore[attr-defined]
    return host_addresses


def allow_loopback_only_hosts() -> None:
    if not getattr(aioice.ice.get_host_addresses, "voxroom_patched", False):
        aioice.ice.get_host_addresses = _with_loopback_fallback(aioice.ice.get_host_addresses)  # type: ignore[assignment]
