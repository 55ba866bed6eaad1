"""Janus in a network namespace linked to this one, for an in-process server and in-process aiortc clients.

::

    [this namespace] 198.18.N.2 ─── veth ─── 198.18.N.1 [vxl-PID-K-janus]
     voxroom-server (in process),              janus (WebSocket API + RTP)
     the tests' aiortc clients

Janus gathers no ICE candidates on loopback (FIELD-NOTES), so it needs an
address of its own; unlike tests/lab/janus_site.py its peers stay in this
process, so the veth's other end is in *this* namespace. Each site takes a
/24 of its own, 198.18.21.0 upwards (clear of the NAT lab's and the Janus
lab's), held by a lock file while it lives, so runs side by side do not
clash. The namespace is named as the NAT lab names its own, so
``natlab.remove_leftovers`` clears one a killed run left (and its veth with
it); deleting it deletes both ends of the veth.
"""

import contextlib
import fcntl
import itertools
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from signaling_server.app import RunningServer

from .janus import Janus, Plugin
from .natlab import COMMAND_TIMEOUT_S, NAME_PREFIX, missing_tools, remove_leftovers
from .server import in_process_server

API_SECRET = "media-api-secret"
FIRST_SUBNET, SUBNETS = 21, 20
"""The third octets a site may take: 198.18.21.0/24 to 198.18.40.0/24."""
LOCKS = Path("/run/lock")
_counter = itertools.count(2000)


def missing() -> str | None:
    """Why a media site cannot be built here (None: it can)."""
    if lacking := missing_tools():
        return f"the media server tests need {', '.join(lacking)}"
    if shutil.which("janus") is None:
        return "the media server tests need janus (apt-get install janus)"
    return None


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True, timeout=COMMAND_TIMEOUT_S)


@contextlib.contextmanager
def _subnet() -> Iterator[int]:
    """A third octet no other site on this machine holds, locked while the block runs."""
    for octet in range(FIRST_SUBNET, FIRST_SUBNET + SUBNETS):
        handle: IO[bytes] = (LOCKS / f"voxroom-media-198.18.{octet}.lock").open("wb")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield octet
        finally:
            handle.close()
        return
    raise RuntimeError(f"all {SUBNETS} media site subnets are in use")


@contextlib.contextmanager
def janus_beside_us(tmp: Path) -> Iterator[Janus]:
    """A VideoRoom-only Janus in a namespace of its own, reachable from this one; all gone after the block."""
    remove_leftovers()
    with _subnet() as octet:
        n = next(_counter)
        netns, ours = f"{NAME_PREFIX}{os.getpid()}-{n}-janus", f"vxm{os.getpid() % 100000}-{n % 1000}"
        janus_ip, our_ip = f"198.18.{octet}.1", f"198.18.{octet}.2"
        try:
            _ip("netns", "add", netns)
            _ip("-n", netns, "link", "set", "lo", "up")
            _ip("link", "add", ours, "type", "veth", "peer", "name", "eth0", "netns", netns)
            _ip("addr", "add", f"{our_ip}/24", "dev", ours)
            _ip("link", "set", ours, "up")
            _ip("-n", netns, "addr", "add", f"{janus_ip}/24", "dev", "eth0")
            _ip("-n", netns, "link", "set", "eth0", "up")
            janus = Janus(
                tmp,
                ip=janus_ip,
                plugins=[Plugin.VIDEOROOM],
                api_secret=API_SECRET,
                token_secret=None,
                netns=netns,
            )
            with janus:
                yield janus
        finally:
            _ip("netns", "del", netns, check=False)
            _ip("link", "del", ours, check=False)  # gone with the namespace, unless that failed early


@dataclass
class MediaServers:
    """Starts voxroom-servers on this loop that use ``janus`` (``await media_server(mesh_limit=2)``).

    Each is started as with ``--media-server JANUS --media-secret SECRET --mesh-limit N``;
    ``overrides`` are more ``ServerConfig`` fields. All are closed with the fixture.
    """

    janus: Janus
    stack: contextlib.AsyncExitStack
    tmp: Path
    _made: Iterator[int] = field(default_factory=itertools.count)

    async def __call__(self, mesh_limit: int = 0, **overrides: Any) -> RunningServer:
        data = self.tmp / f"server-{next(self._made)}"
        settings = {"media_server": self.janus.url, "media_secret": API_SECRET, "mesh_limit": mesh_limit}
        return await self.stack.enter_async_context(in_process_server(data, **{**settings, **overrides}))


@contextlib.asynccontextmanager
async def media_servers(tmp: Path) -> AsyncIterator[MediaServers]:
    (tmp / "janus").mkdir()
    with janus_beside_us(tmp / "janus") as janus:
        async with contextlib.AsyncExitStack() as stack:
            yield MediaServers(janus, stack, tmp)
