"""Which TURN server our calls use, tried before the first call of each join.

aiortc 1.16 gathers with the first TURN URL it is given and ignores the rest
(``connection_kwargs`` in ``rtcicetransport.py``), so a client whose network
drops UDP, handed ``turn:…`` then ``turn:…?transport=tcp``, would get no relay
at all; and aioice waits 5 s for an unreachable TURN server on every new peer
connection. So at each ``joined`` (whose credentials may be new) we allocate
once through every TURN URL at the same time and give aiortc only the first
URL, in the server's order, that worked: UDP where it works, else TCP, else
TLS. A call waits for that choice, which costs one allocation round trip when
the first URL works; when a later URL worked, an earlier one still silent is
waited for only as long again as the later one took (at least 0.25 s more),
so a network that drops UDP does not hold every call for the whole
``PROBE_TIMEOUT_S``. When
none works, the owner hears why (``RelayUnusable``: a code and its
parameters per URL, which the UI puts in the person's language); direct
calls go on. A
``stun:`` URL at the host and port where a UDP TURN allocation got no answer
(or none in time) is left out too: on a network that drops UDP it would only make aioice wait
5 s for a reflexive address on every new connection.

The choice (``choose``) is pure; ``probe`` and ``RelayChoice`` are the I/O.
"""

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from aioice.stun import TransactionFailed, TransactionTimeout
from aioice.turn import create_turn_endpoint
from aiortc import RTCIceServer
from aiortc.rtcicetransport import parse_stun_turn_uri

from protocol import IceServer

from .call_stats import TransportProtocol
from .events import RelayFailure, RelayTrouble, RelayUnusable

log = logging.getLogger("voxroom.relays")

PROBE_TIMEOUT_S = 2.5
"""Two allocation round trips (the first is challenged) plus TCP and TLS set-up, even far away."""
MIN_PATIENCE_S = 0.25


@dataclass(frozen=True, slots=True)
class Probed:
    """A finished probe: ``failure`` None when a relay was allocated; ``took_s`` from the start."""

    failure: RelayFailure | None
    took_s: float


@dataclass(frozen=True, slots=True)
class TurnUrl:
    url: str
    host: str
    port: int
    transport: TransportProtocol
    username: str
    credential: str

    def __str__(self) -> str:
        return f"{self.url} ({self.transport.upper()})"


def turn_urls(servers: Sequence[IceServer]) -> list[TurnUrl]:
    """Every usable TURN URL, in the server's order (aiortc's parser; ones it cannot use are left out)."""
    urls = []
    for server in servers:
        for url in server.urls:
            try:
                parsed = parse_stun_turn_uri(url)
            except ValueError:
                continue
            scheme, transport = parsed["scheme"], parsed.get("transport")  # STUN URLs have none
            if scheme not in ("turn", "turns") or transport not in ("udp", "tcp"):
                continue
            if scheme == "turns" and transport != "tcp":
                continue
            kind = TransportProtocol.TLS if scheme == "turns" else TransportProtocol(transport)
            urls.append(
                TurnUrl(
                    url, parsed["host"], parsed["port"], kind, server.username or "", server.credential or ""
                )
            )
    return urls


def rtc_ice_servers(
    servers: Sequence[IceServer], relay: TurnUrl | None, silent: frozenset[tuple[str, int]] = frozenset()
) -> list[RTCIceServer]:
    """What aiortc gets: every STUN URL not at a ``silent`` (host, port), and the one TURN URL chosen."""
    out = []
    for server in servers:
        others = [u for u in server.urls if not u.startswith("turn") and _where(u) not in silent]
        if others:
            out.append(RTCIceServer(urls=others, username=server.username, credential=server.credential))
    if relay is not None:
        out.append(RTCIceServer(urls=relay.url, username=relay.username, credential=relay.credential))
    return out


def _where(url: str) -> tuple[str, int] | None:
    try:
        parsed = parse_stun_turn_uri(url)
    except ValueError:
        return None
    return parsed["host"], parsed["port"]


class Undecided(Enum):
    PENDING = "pending"
    """``choose``'s answer while an earlier URL's probe has not finished."""


PENDING = Undecided.PENDING


def patience_s(took_s: float) -> float:
    """How long an earlier URL is waited for once a later one worked in ``took_s``."""
    return max(2 * took_s, took_s + MIN_PATIENCE_S)


def choose(
    urls: Sequence[TurnUrl], probed: Mapping[TurnUrl, Probed], elapsed_s: float
) -> TurnUrl | Literal[Undecided.PENDING] | None:
    """The first URL, in the server's order, that worked; None when all failed.

    A URL still being tried holds the choice, unless a later one worked and
    ``elapsed_s`` (since the probes began) is past that one's ``patience_s``.
    """
    for i, url in enumerate(urls):
        result = probed.get(url)
        if result is None:
            worked = _first_that_worked(urls[i + 1 :], probed)
            if worked is not None and elapsed_s >= patience_s(worked.took_s):
                continue  # given up: treated as failed
            return PENDING
        if result.failure is None:
            return url
    return None


def next_look_s(urls: Sequence[TurnUrl], probed: Mapping[TurnUrl, Probed]) -> float | None:
    """When (since the probes began) ``choose`` may change its answer without a new result."""
    worked = _first_that_worked(urls, probed)
    return None if worked is None else patience_s(worked.took_s)


def _first_that_worked(urls: Sequence[TurnUrl], probed: Mapping[TurnUrl, Probed]) -> Probed | None:
    return next((probed[u] for u in urls if u in probed and probed[u].failure is None), None)


def silent_udp(urls: Sequence[TurnUrl], probed: Mapping[TurnUrl, Probed]) -> frozenset[tuple[str, int]]:
    """Where UDP TURN URLs got no answer, or none in time: STUN there would be silent too."""

    def silent(url: TurnUrl) -> bool:
        result = probed.get(url)
        return result is None or (result.failure is not None and result.failure.silent)

    return frozenset((u.host, u.port) for u in urls if u.transport is TransportProtocol.UDP and silent(u))


def unusable(urls: Sequence[TurnUrl], probed: Mapping[TurnUrl, Probed]) -> RelayUnusable:
    """What the owner hears once every URL failed (``choose`` said None)."""
    return RelayUnusable(tuple(failure for url in urls if (failure := probed[url].failure) is not None))


async def probe(url: TurnUrl, timeout_s: float = PROBE_TIMEOUT_S) -> RelayFailure | None:
    """Allocate a relay through ``url`` and give it back: None when that worked, else why not."""
    shown = str(url)
    given_back = asyncio.get_running_loop().create_future()
    try:
        async with asyncio.timeout(timeout_s):
            transport, _ = await create_turn_endpoint(
                lambda: _GivenBack(given_back),
                server_addr=(url.host, url.port),
                username=url.username,
                password=url.credential,
                ssl=url.transport is TransportProtocol.TLS,
                transport="udp" if url.transport is TransportProtocol.UDP else "tcp",
            )
    except TransactionFailed as exc:
        code, reason = exc.response.attributes.get("ERROR-CODE", (0, "refused"))
        if code == 401:
            return RelayFailure(shown, RelayTrouble.CREDENTIALS_REFUSED)
        return RelayFailure(shown, RelayTrouble.REFUSED, f"{code} {reason}")
    except (TransactionTimeout, TimeoutError):
        return RelayFailure(shown, RelayTrouble.NO_ANSWER, waited_s=timeout_s)
    except ssl.SSLCertVerificationError as exc:
        return RelayFailure(shown, RelayTrouble.UNTRUSTED, exc.verify_message)
    except ConnectionRefusedError:
        return RelayFailure(shown, RelayTrouble.CONNECTION_REFUSED)
    except OSError as exc:
        return RelayFailure(shown, RelayTrouble.UNREACHABLE, exc.strerror or str(exc))
    transport.close()  # deletes the allocation, then closes the connection to the relay
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await given_back  # not left to a loop that may end before it (the connection would leak)
    return None


class _GivenBack(asyncio.DatagramProtocol):
    """Tells when a probe's allocation is deleted and its connection closed (aioice's ``connection_lost``)."""

    def __init__(self, done: "asyncio.Future[None]") -> None:
        self._done = done

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done.done():
            self._done.set_result(None)


class RelayChoice:
    """The probes of one ``joined`` and what they chose."""

    def __init__(
        self,
        servers: Sequence[IceServer],
        on_unusable: Callable[[RelayUnusable], None],
        timeout_s: float = PROBE_TIMEOUT_S,
    ) -> None:
        self._servers = list(servers)
        self._urls = turn_urls(servers)
        self._on_unusable = on_unusable
        self._probed: dict[TurnUrl, Probed] = {}
        self._chosen: TurnUrl | None = None
        self._decided = asyncio.Event()
        self._silent: frozenset[tuple[str, int]] = frozenset()
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._look: asyncio.TimerHandle | None = None
        self._tasks = [asyncio.create_task(self._probe(url, timeout_s)) for url in self._urls]
        if not self._urls:
            self._decided.set()

    @property
    def chosen(self) -> TurnUrl | None:
        return self._chosen

    async def ice_servers(self) -> list[RTCIceServer]:
        """aiortc's configuration, once the choice is made (the probes bound the wait)."""
        await self._decided.wait()
        return rtc_ice_servers(self._servers, self._chosen, self._silent)

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._look is not None:
            self._look.cancel()

    async def _probe(self, url: TurnUrl, timeout_s: float) -> None:
        failure = await probe(url, timeout_s)
        self._probed[url] = Probed(failure, self._loop.time() - self._started)
        if failure is not None:
            log.warning("TURN %s", failure)
        self._decide()

    def _decide(self) -> None:
        if self._decided.is_set():
            return
        elapsed_s = self._loop.time() - self._started
        choice = choose(self._urls, self._probed, elapsed_s)
        if choice is PENDING:
            look_s = next_look_s(self._urls, self._probed)
            if look_s is not None:
                if self._look is not None:
                    self._look.cancel()
                self._look = self._loop.call_later(max(0.0, look_s - elapsed_s), self._decide)
            return
        self._chosen = choice
        self._silent = silent_udp(self._urls, self._probed)
        self._decided.set()
        if choice is None:
            self._on_unusable(unusable(self._urls, self._probed))
        else:
            log.info("calls use the relay %s", choice)
