"""``voxroom-server --check-turn``: does each ``--turn-url`` relay, and if not, why not, in plain words.

An operator runs it after setting up coturn and before anyone calls. For
each URL it makes the credentials a client would get, allocates two relays
through that URL (as two callers relayed by one coturn would) and sends a
datagram each way between them: an allocation alone proves the secret, not
that coturn relays (a firewall on its relay ports, a wrong ``external-ip`` or
a ``denied-peer-ip`` covering its own address all pass allocation and fail a
call). Every wait is bounded. ``describe`` and ``report`` decide the words;
``check`` is the I/O.
"""

import asyncio
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aioice import stun
from aioice.turn import TurnTransport, create_turn_endpoint

from .config import ServerConfig
from .turn import Transport, TurnUrl, credentials, parse_turn_url

TIMEOUT_S = 5.0
"""Per URL, allocation and relaying together: a healthy coturn answers in milliseconds."""
CLOSE_TIMEOUT_S = 2.0
RESEND_S = 0.1
CHECK_USER = "voxroom-check-turn"
"""The user part of the check's username (``<expiry>:voxroom-check-turn``), so coturn's log shows it."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one URL did: its relay address if it got one, the time taken, and why it failed (None: works)."""

    url: TurnUrl
    relay: tuple[str, int] | None
    elapsed_s: float
    problem: str | None = None


def report(outcome: Outcome) -> str:
    """The one line printed for a URL."""
    ms = round(outcome.elapsed_s * 1000)
    head = f"{outcome.url.transport.value} {outcome.url.url}:"
    if outcome.problem is None:
        assert outcome.relay is not None
        return f"{head} works, relayed through {outcome.relay[0]}:{outcome.relay[1]} in {ms} ms"
    return f"{head} does NOT work ({ms} ms): {outcome.problem}"


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """0 when every URL relays, 1 otherwise: a script or a deployment check can stop on it."""
    return 0 if outcomes and all(o.problem is None for o in outcomes) else 1


def describe(
    error: BaseException, url: TurnUrl, relaying: bool, relay: tuple[str, int] | None, timeout_s: float
) -> str:
    """Why ``url`` failed, for someone who configured coturn; ``relaying``: the allocations had succeeded."""
    where = f"{url.host}:{url.port}"
    if isinstance(error, stun.TransactionFailed):
        code, reason = error.response.attributes.get("ERROR-CODE", (0, "no error code"))
        status = f"({code} {reason})".replace(" )", ")")
        if code == 401:
            return f"coturn refused the credentials: --turn-secret is not its static-auth-secret {status}"
        if code == 403 and relaying:
            return (
                f"coturn allocated {_address(relay)} but refused to relay to the other allocation {status}:"
                " its denied-peer-ip covers its own relay address (on 127.x: allow-loopback-peers is missing)"
            )
        if code == 403:
            return f"coturn forbids this client {status}: check its allowed/denied-peer-ip and quotas"
        return f"coturn refused the allocation {status}"
    if isinstance(error, stun.TransactionTimeout | TimeoutError):
        if relaying:
            return (
                f"coturn allocated {_address(relay)}, but nothing sent through the relay arrived within"
                f" {timeout_s:g} s: are its relay ports (min-port to max-port) open, its external-ip right?"
            )
        return (
            f"unreachable: no answer from {where} over {url.transport.value} within {timeout_s:g} s"
            f" (is coturn running there, and is {_port_kind(url)} port {url.port} open?)"
        )
    if isinstance(error, ssl.SSLCertVerificationError):
        return (
            f"the TLS certificate of {where} is not trusted: {error.verify_message}"
            f" (clients check it as this does: it needs a certificate for {url.host} from a CA they trust)"
        )
    if isinstance(error, ssl.SSLError):
        return f"the TLS handshake with {where} failed: {error.reason or error} (is this coturn's TLS port?)"
    if isinstance(error, ConnectionRefusedError):
        return f"unreachable: {where} refused the connection (coturn is not running or not listening there)"
    if isinstance(error, socket.gaierror):
        return f"unreachable: cannot resolve {url.host}: {error.strerror}"
    if isinstance(error, ConnectionError) and error.errno is None:  # aioice's own: a malformed answer
        return f"coturn's answer was unusable: {error}"
    if isinstance(error, OSError):
        return f"unreachable: {where}: {error.strerror or error}"
    return f"failed: {type(error).__name__}: {error}"


def _address(relay: tuple[str, int] | None) -> str:
    return "a relay" if relay is None else f"{relay[0]}:{relay[1]}"


def _port_kind(url: TurnUrl) -> str:
    return "UDP" if url.transport is Transport.UDP else "TCP"


class _Peer(asyncio.DatagramProtocol):
    """One allocation's receiving end: what arrived, the first send error, and when it closed."""

    def __init__(self, expect: bytes) -> None:
        loop = asyncio.get_running_loop()
        self.expect = expect
        self.arrived: asyncio.Future[None] = loop.create_future()
        self.failed: asyncio.Future[Exception] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if data == self.expect and not self.arrived.done():
            self.arrived.set_result(None)

    def error_received(self, exc: Exception) -> None:
        if not self.failed.done():
            self.failed.set_result(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


async def check(
    url: TurnUrl,
    username: str,
    password: str,
    timeout_s: float = TIMEOUT_S,
    context: ssl.SSLContext | None = None,
) -> Outcome:
    """Allocate two relays through ``url`` and send a datagram each way between them, within ``timeout_s``."""
    started = time.monotonic()
    opened: list[tuple[TurnTransport, _Peer]] = []
    relay: tuple[str, int] | None = None
    relaying = False
    tls: ssl.SSLContext | None = None
    if url.transport is Transport.TLS:
        tls = context or ssl.create_default_context()  # the system's CAs, or SSL_CERT_FILE: as clients
    try:
        async with asyncio.timeout(timeout_s):
            for token in (b"voxroom check-turn: to a", b"voxroom check-turn: to b"):
                opened.append(await _allocate(url, username, password, tls, token))
                relay = relay or opened[0][0].get_extra_info("sockname")
            relaying = True
            await _exchange(*opened[0], *opened[1])
    except Exception as exc:  # every failure is reported as a line, not a traceback
        problem: str | None = describe(exc, url, relaying, relay, timeout_s)
    else:
        problem = None
    elapsed = time.monotonic() - started
    await _close(opened)
    return Outcome(url, relay, elapsed, problem)


async def _allocate(
    url: TurnUrl, username: str, password: str, tls: ssl.SSLContext | None, expect: bytes
) -> tuple[TurnTransport, _Peer]:
    return await create_turn_endpoint(
        lambda: _Peer(expect),
        (url.host, url.port),
        username=username,
        password=password,
        ssl=tls,
        transport="udp" if url.transport is Transport.UDP else "tcp",
    )


async def _exchange(a: TurnTransport, peer_a: _Peer, b: TurnTransport, peer_b: _Peer) -> None:
    """Send each way until both arrived; a send that fails (403) raises. The caller bounds the time.

    Resent every ``RESEND_S``: a datagram that reaches an allocation before it
    has a permission for the sender is dropped, as coturn must.
    """
    a_address, b_address = a.get_extra_info("sockname"), b.get_extra_info("sockname")
    while not (peer_a.arrived.done() and peer_b.arrived.done()):
        for peer in (peer_a, peer_b):
            if peer.failed.done():
                raise peer.failed.result()
        a.sendto(peer_b.expect, b_address)
        b.sendto(peer_a.expect, a_address)
        awaited = [f for f in (peer_a.arrived, peer_b.arrived, peer_a.failed, peer_b.failed) if not f.done()]
        await asyncio.wait(awaited, timeout=RESEND_S, return_when=asyncio.FIRST_COMPLETED)


async def _close(opened: list[tuple[TurnTransport, _Peer]]) -> None:
    """Delete the allocations (coturn frees them at once) and wait a little for it."""
    for transport, _ in opened:
        transport.close()
    if opened:
        await asyncio.wait([peer.lost for _, peer in opened], timeout=CLOSE_TIMEOUT_S)


async def check_all(config: ServerConfig, now: float, timeout_s: float = TIMEOUT_S) -> list[Outcome]:
    """Every ``--turn-url`` at once, each with the credentials a client joining at ``now`` would get."""
    assert config.turn_secret is not None
    username, password = credentials(config.turn_secret, CHECK_USER, int(now) + config.turn_ttl_s)
    urls = [parse_turn_url(url) for url in config.turn_urls]
    return list(await asyncio.gather(*(check(url, username, password, timeout_s) for url in urls)))


def run(config: ServerConfig) -> int:
    """Print one line per URL and return the exit code (docs/operations.md, "Checking TURN")."""
    if not config.turn_urls:
        print('nothing to check: no --turn-url is configured (docs/operations.md, "TURN")', flush=True)
        return 1
    outcomes = asyncio.run(check_all(config, time.time()))
    for outcome in outcomes:
        print(report(outcome), flush=True)
    return exit_code(outcomes)
