"""Which TURN server our calls use, tried before the first call of each join.

aiortc 1.16 gathers with the first TURN URL it is given and ignores the rest
(``connection_kwargs`` in ``rtcicetransport.py``), so a client whose network
drops UDP, handed ``turn:…`` then ``turn:…?transport=tcp``, would get no relay
at all; and aioice waits 5 s for an unreachable TURN server on every new peer
connection. So at each ``joined`` (whose credentials may be new) we allocate
once through every TURN URL at the same time and give aiortc only the first
URL, in the server's order, that worked: UDP where it works, else TCP, else
TLS. A call waits for that choice, which costs one allocation round trip when
the first URL works and at most ``PROBE_TIMEOUT_S`` when it does not. When
none works, the owner hears why in plain words; direct calls go on. A
``stun:`` URL at the host and port where a UDP TURN allocation got no answer
is left out too: on a network that drops UDP it would only make aioice wait
5 s for a reflexive address on every new connection.

The choice (``choose``) is pure; ``probe`` and ``RelayChoice`` are the I/O.
"""

import asyncio
import logging
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Literal

from aioice.stun import TransactionFailed, TransactionTimeout
from aioice.turn import create_turn_endpoint
from aiortc import RTCIceServer
from aiortc.rtcicetransport import parse_stun_turn_uri

from protocol import IceServer

log = logging.getLogger("voxroom.relays")

PROBE_TIMEOUT_S = 2.5
"""Two allocation round trips (the first is challenged) plus TCP and TLS set-up, even far away."""


class RelayTransport(StrEnum):
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a relay could not be had, in plain words; ``silent``: nothing answered at all."""

    reason: str
    silent: bool = False

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True, slots=True)
class TurnUrl:
    url: str
    host: str
    port: int
    transport: RelayTransport
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
            kind = RelayTransport.TLS if scheme == "turns" else RelayTransport(transport)
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


def choose(
    urls: Sequence[TurnUrl], errors: Mapping[TurnUrl, Failure | None]
) -> TurnUrl | Literal[Undecided.PENDING] | None:
    """The first URL that worked once every earlier one failed; None when all failed.

    ``errors`` holds the finished probes: None for one that worked, else why not.
    """
    for url in urls:
        if url not in errors:
            return PENDING
        if errors[url] is None:
            return url
    return None


def unusable_message(urls: Sequence[TurnUrl], errors: Mapping[TurnUrl, Failure | None]) -> str:
    reasons = "; ".join(f"{url}: {errors[url]}" for url in urls)
    return f"No relay server works, so calls through strict NATs or firewalls will not connect. {reasons}."


async def probe(url: TurnUrl, timeout_s: float = PROBE_TIMEOUT_S) -> Failure | None:
    """Allocate a relay through ``url`` and give it back: None when that worked, else why not."""
    try:
        async with asyncio.timeout(timeout_s):
            transport, _ = await create_turn_endpoint(
                asyncio.DatagramProtocol,
                server_addr=(url.host, url.port),
                username=url.username,
                password=url.credential,
                ssl=url.transport is RelayTransport.TLS,
                transport="udp" if url.transport is RelayTransport.UDP else "tcp",
            )
    except TransactionFailed as exc:
        code, reason = exc.response.attributes.get("ERROR-CODE", (0, "refused"))
        if code == 401:
            return Failure("it refused our credentials (the Voxroom server's TURN secret is not the relay's)")
        return Failure(f"it refused a relay ({code} {reason})")
    except (TransactionTimeout, TimeoutError):
        return Failure(f"no answer within {timeout_s:g} s (blocked on this network, or down)", silent=True)
    except ssl.SSLCertVerificationError as exc:
        return Failure(f"its TLS certificate is not trusted ({exc.verify_message})")
    except ConnectionRefusedError:
        return Failure("nothing listens there (connection refused)")
    except OSError as exc:
        return Failure(f"cannot reach it ({exc.strerror or exc})")
    transport.close()  # deletes the allocation
    return None


class RelayChoice:
    """The probes of one ``joined`` and what they chose."""

    def __init__(
        self,
        servers: Sequence[IceServer],
        on_unusable: Callable[[str], None],
        timeout_s: float = PROBE_TIMEOUT_S,
    ) -> None:
        self._servers = list(servers)
        self._urls = turn_urls(servers)
        self._on_unusable = on_unusable
        self._errors: dict[TurnUrl, Failure | None] = {}
        self._chosen: TurnUrl | None = None
        self._decided = asyncio.Event()
        self._tasks = [asyncio.create_task(self._probe(url, timeout_s)) for url in self._urls]
        if not self._urls:
            self._decided.set()

    @property
    def chosen(self) -> TurnUrl | None:
        return self._chosen

    async def ice_servers(self) -> list[RTCIceServer]:
        """aiortc's configuration, once the choice is made (the probes bound the wait)."""
        await self._decided.wait()
        silent = frozenset(
            (url.host, url.port)
            for url, error in self._errors.items()
            if url.transport is RelayTransport.UDP and error is not None and error.silent
        )
        return rtc_ice_servers(self._servers, self._chosen, silent)

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()

    async def _probe(self, url: TurnUrl, timeout_s: float) -> None:
        self._errors[url] = error = await probe(url, timeout_s)
        if error is not None:
            log.warning("TURN %s: %s", url, error)
        if self._decided.is_set():
            return
        choice = choose(self._urls, self._errors)
        if choice is PENDING:
            return
        self._chosen = choice
        self._decided.set()
        if choice is None:
            self._on_unusable(unusable_message(self._urls, self._errors))
        else:
            log.info("calls use the relay %s", choice)
