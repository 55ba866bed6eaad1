"""Janus in a network namespace, its clients in another: the set-up of the Janus tests and benchmark.

::

    [media] 198.18.20.1 ─── veth ─── 198.18.20.2 [peers]
     janus (WebSocket + RTP)          janus_peer.py processes (aiortc)

Janus gathers no ICE candidates on loopback (FIELD-NOTES), so it needs an
address of its own, and a veth needs two ends. Both namespaces are made here
with the NAT lab's naming (so ``natlab.remove_leftovers`` clears those of a
killed run), hold only addresses of 198.18.0.0/15, and have no route at all
beyond their one /24. IPv6 is off, so nothing outside the plan becomes a
candidate.
"""

import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from signaling_server.janus import OPEN_TIMEOUT_S, JanusClient, Json

from ..support.janus import Janus, Plugin, netns_socket
from ..support.natlab import COMMAND_TIMEOUT_S, NAME_PREFIX, Host, remove_leftovers
from ..support.server import REPO

MEDIA_IP = "198.18.20.1"
PEERS_IP = "198.18.20.2"
API_SECRET = "lab-api-secret"
TOKEN_SECRET = "lab-token-secret"
ADMIN_KEY = "lab-admin-key"
ROOM_SECRET = "lab-room-secret"
"""What editing or destroying a room needs (its ``pin`` is what joining needs)."""
PEER_TIMEOUT_S = 30.0
_counter = itertools.count(1000)
"""Lab numbers of their own (the NAT lab counts from 0), in the NAT lab's name pattern."""


@dataclass(frozen=True, slots=True)
class JanusSite:
    media: Host
    peers: Host
    janus: Janus


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True, timeout=COMMAND_TIMEOUT_S)


@contextlib.contextmanager
def two_hosts() -> Iterator[tuple[Host, Host]]:
    """The two namespaces above, linked, inside the block; deleted after it whatever happens."""
    remove_leftovers()
    base = f"{NAME_PREFIX}{os.getpid()}-{next(_counter)}-"
    media, peers = Host(base + "media", MEDIA_IP), Host(base + "peers", PEERS_IP)
    try:
        for host in (media, peers):
            _ip("netns", "add", host.netns)
            host.run("ip", "link", "set", "lo", "up")
            host.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            host.run("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        _ip(
            "-n",
            media.netns,
            "link",
            "add",
            "eth0",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            peers.netns,
        )
        for host in (media, peers):
            host.run("ip", "addr", "add", f"{host.address}/24", "dev", "eth0")
            host.run("ip", "link", "set", "eth0", "up")
        yield media, peers
    finally:
        for host in (media, peers):
            _ip("netns", "del", host.netns, check=False)


@contextlib.contextmanager
def janus_site(tmp: Path, plugins: Sequence[Plugin] = tuple(Plugin)) -> Iterator[JanusSite]:
    """The namespaces and a Janus in ``media`` requiring both the API secret and a token."""
    with two_hosts() as (media, peers):
        janus = Janus(
            tmp,
            ip=media.address,
            plugins=plugins,
            api_secret=API_SECRET,
            token_secret=TOKEN_SECRET,
            admin_key=ADMIN_KEY,
            netns=media.netns,
        )
        with janus:
            yield JanusSite(media, peers, janus)


@contextlib.asynccontextmanager
async def api_client(site: JanusSite, **auth: str) -> AsyncIterator[JanusClient]:
    """A ``JanusClient`` of this process reaching Janus inside its namespace (``auth``: api_secret, token)."""
    janus = site.janus
    sock = netns_socket(janus.netns, (janus.ip, janus.port), OPEN_TIMEOUT_S)
    async with await JanusClient.connect(janus.url, sock=sock, **auth) as client:
        yield client


async def create_room(site: JanusSite, kind: Plugin, room: int, pin: str) -> None:
    """Create ``room`` with join password ``pin``, as the signaling server would (with ``admin_key``)."""
    settings: Json = (
        {"publishers": 200, "audiocodec": "opus", "notify_joining": False}
        if kind is Plugin.VIDEOROOM
        else {"sampling_rate": 48000, "audiolevel_event": False}
    )
    async with api_client(site, api_secret=API_SECRET) as client:
        session = await client.create_session()
        handle = await session.attach(kind.value)
        body = {"request": "create", "room": room, "pin": pin, "secret": ROOM_SECRET, "admin_key": ADMIN_KEY}
        await handle.message({**body, **settings})
        await session.destroy()


@dataclass
class PeerProcess:
    """A ``janus_peer`` process in the peers' namespace: its report, then its counters when told to leave."""

    name: str
    proc: asyncio.subprocess.Process

    async def _line(self, timeout_s: float) -> Json:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout_s)
        if not line:
            raise RuntimeError(f"peer {self.name} exited with {await self.proc.wait()}")
        report: Json = json.loads(line)
        return report

    async def report(self, timeout_s: float = PEER_TIMEOUT_S) -> Json:
        """What it heard: ``{"heard": {speaker: [peak Hz, second peak Hz]}, "seconds": {speaker: s}}``."""
        return await self._line(timeout_s)

    async def counters(self) -> Json:
        """Its counters now: ``bytes_sent``, ``bytes_received``, ``packets_*``, ``cpu_s``, ``at``."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"counters\n")
        await self.proc.stdin.drain()
        return await self._line(PEER_TIMEOUT_S)

    async def finish(self) -> Json:
        """Tell it to leave; its counters (bytes, packets, ``cpu_s``). Killed if it does not exit in time."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            return await self._line(PEER_TIMEOUT_S)
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), PEER_TIMEOUT_S)
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def start_peer(
    site: JanusSite, kind: Plugin, room: int, pin: str, name: str, tone_hz: float, speakers: int, *extra: str
) -> PeerProcess:
    """A ``janus_peer`` named ``name`` playing ``tone_hz`` that reports once it hears ``speakers`` streams."""
    cmd = [*site.peers.prefix, sys.executable, "-m", "tests.lab.janus_peer", "--url", site.janus.url]
    cmd += ["--api-secret", API_SECRET, "--plugin", kind.value, "--room", str(room), "--pin", pin]
    cmd += ["--name", name, "--tone", str(tone_hz), "--speakers", str(speakers), *extra]
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=REPO, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    return PeerProcess(name, proc)


@contextlib.asynccontextmanager
async def peers(processes: list[PeerProcess]) -> AsyncIterator[list[PeerProcess]]:
    """Stops every peer in ``processes`` (started inside the block) in every outcome."""
    try:
        yield processes
    finally:
        for peer in processes:
            if peer.proc.stdin is not None and not peer.proc.stdin.is_closing():
                peer.proc.stdin.close()
        await asyncio.gather(*(peer.stop() for peer in processes))
