"""Assembles one server: store, core, WebSocket transport, HTTP endpoints.

``start()`` is what ``voxroom-server``, the tests and the desktop app's
"host on this computer" all call, so they all run the same server.
"""

import asyncio
import contextlib
import hmac
import json
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING

from websockets.datastructures import Headers
from websockets.frames import CloseCode
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from protocol import limits

from .config import ServerConfig
from .hub import Hub
from .media import MediaServer
from .metrics import Metrics
from .model import AddressBan, Place
from .recent import RecentChats
from .replica import Replica
from .replicated import SeededIds
from .sqlite_store import sqlite_store
from .store import Retention, Store, StoreError, StoreThread
from .transport import STRANGER_READ_BYTES, Relay
from .wsproto import Connection

if TYPE_CHECKING:
    from .cluster import RedisLog

log = logging.getLogger("voxroom.server")
_WS_LOG = logging.getLogger("websockets.server")

DB_NAME = "voxroom.sqlite3"


@dataclass
class RunningServer:
    config: ServerConfig
    server: asyncio.Server
    relay: Relay
    store: StoreThread
    started: float
    _chores: "list[asyncio.Task[None]]" = field(repr=False)
    shared: "RedisLog | None" = None
    """The log this instance shares with the others of its service (``--redis``)."""
    media: MediaServer | None = None
    """Its side of Janus (``--media-server``)."""

    @property
    def port(self) -> int:
        return int(self.server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        scheme = "wss" if self.config.tls_cert else "ws"
        host = self.config.host if self.config.host not in ("0.0.0.0", "::", "") else "127.0.0.1"  # noqa: S104
        return f"{scheme}://{host}:{self.port}{limits.WS_PATH}"

    async def close(self) -> None:
        """Close every connection with 1001 (clients resume), then flush the store."""
        self.server.close()
        self.relay.close_all(CloseCode.GOING_AWAY)
        for chore in self._chores:
            chore.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await chore
        await self.relay.drain()
        if self.media is not None:
            await self.media.close()
        if self.shared is not None:
            await self.shared.close()  # after what the closes appended (its clients' places enter grace)
        await asyncio.to_thread(self.store.stop)
        log.info("stopped")


async def start(config: ServerConfig, *, max_db_pages: int | None = None) -> RunningServer:
    """Open the database, restore the places, and listen.

    Raises:
        StoreError: the database cannot be used (see its message).
    """
    store, places, bans = await asyncio.to_thread(_open_store, config, max_db_pages)
    shared = await _join_service(config, places, bans) if config.redis is not None else None
    ids = SeededIds()
    hub = Hub(config, ids.peer_id, ids.token) if shared is not None else Hub(config)
    if shared is None:
        hub.restore(places, time.time())
        hub.restore_bans(bans)
    metrics = Metrics(config.version)
    started = time.monotonic()
    metrics.watch("voxroom_connections", "Open WebSocket connections", lambda: relay.open_connections)
    metrics.watch("voxroom_peers", "Peers seated in rooms, including those in grace", lambda: relay.hub.peers)
    metrics.watch("voxroom_rooms", "Non-empty rooms", lambda: relay.hub.rooms)

    def health() -> dict[str, object]:
        """The whole service's counts (the core's view); an instance of several adds its own."""
        answer: dict[str, object] = {
            "status": "ok",
            "version": config.version,
            "rooms": relay.hub.rooms,
            "clients": relay.hub.connections,
            "peers": relay.hub.peers,
            "uptime_s": round(time.monotonic() - started, 3),
        }
        if media is not None:
            answer["media_server"] = "reachable" if media.reachable else "unreachable"
        if shared is not None:
            answer["instance"] = {
                "number": shared.instance,
                "clients": relay.open_connections,
                "redis": shared.reachable,
                "postgresql": relay.store.healthy,
            }
        return answer

    server_header = f"voxroom-server/{config.version}"

    def http(request: Request, protocol: ServerProtocol) -> Response:
        response = route(request, protocol)
        response.headers["Server"] = server_header
        return response

    def route(request: Request, protocol: ServerProtocol) -> Response:
        path = request.path.split("?", 1)[0]
        if path == limits.WS_PATH:
            return protocol.accept(request)
        if path == "/health":
            return _response(protocol, HTTPStatus.OK, json.dumps(health()), "application/json")
        if path == "/metrics":
            if not _bearer_matches(request, config.metrics_token):
                response = _response(protocol, HTTPStatus.UNAUTHORIZED, "/metrics needs its bearer token\n")
                response.headers["WWW-Authenticate"] = 'Bearer realm="voxroom-metrics"'
                return response
            return _response(protocol, HTTPStatus.OK, metrics.render().decode(), "text/plain; version=0.0.4")
        return _response(protocol, HTTPStatus.NOT_FOUND, f"not found: {path}; try /ws, /health or /metrics\n")

    recent = RecentChats() if _history_stays(config) else None
    relay: Relay
    if shared is None:
        relay = Relay(hub, StoreThread(store), metrics, http, config.trust_proxy, recent)
    else:
        replica = relay = Replica(
            hub, ids, shared, StoreThread(store), metrics, http, config.trust_proxy, recent
        )
        after = await shared.catch_up(replica)
    media = None
    if config.media_server is not None and config.media_secret is not None:
        media = MediaServer(config.media_server, config.media_secret, relay)
        relay.media = media
        media.start()

    def connection() -> Connection:
        """No compression (signaling is small; deflate costs ~50 KiB a connection), read in small bites."""
        protocol = ServerProtocol(
            subprotocols=[Subprotocol(limits.SUBPROTOCOL)],
            select_subprotocol=_select_subprotocol,
            max_size=config.max_message_bytes,
            logger=_WS_LOG,
        )
        return Connection(relay, protocol, STRANGER_READ_BYTES)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(connection, config.host, config.port, ssl=_tls_context(config))
    chores = [
        asyncio.create_task(relay.tick_forever()),
        asyncio.create_task(relay.keep_alive_forever(config.ping_interval_s, config.ping_timeout_s)),
    ]
    if shared is not None:
        chores += [
            asyncio.create_task(shared.read_forever(replica, after)),
            asyncio.create_task(shared.write_forever()),
            asyncio.create_task(shared.lead_forever(replica)),
        ]
    running = RunningServer(config, server, relay, relay.store, started, chores, shared, media)
    log.info("listening on %s (data in %s)", running.url, store.db.name)
    return running


async def _join_service(config: ServerConfig, places: list[Place], bans: list[AddressBan]) -> "RedisLog":
    """Become an instance of the service on ``--redis``; the database's places are seated once for all."""
    try:
        from redis.exceptions import RedisError  # redis-py only for those who ask for it

        from .cluster import RedisLog
    except ModuleNotFoundError as exc:
        if exc.name != "redis":
            raise
        raise StoreError(
            "--redis needs the Redis client, which is not installed: pip install 'voxroom[cluster]'"
        ) from exc
    assert config.redis is not None
    shared = RedisLog(config.redis)
    try:
        await shared.join()
        await shared.restore(places, bans)
    except RedisError as exc:
        await shared.redis.aclose()
        raise StoreError(f"cannot use Redis at --redis: {exc}") from exc
    return shared


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (``voxroom[fast]``), else None: asyncio's own.

    uvloop's sockets, timers and callbacks are C: less CPU per delivery and
    lower latency at every load (docs/benchmarks.md, issue 14).
    """
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _history_stays(config: ServerConfig) -> bool:
    """Retention never deletes one of a room's newest ``HISTORY_ON_JOIN`` messages: memory may copy them."""
    keep = config.history_max_per_room
    return config.history_days == 0 and (keep == 0 or keep >= limits.HISTORY_ON_JOIN)


def _open_store(
    config: ServerConfig, max_db_pages: int | None
) -> tuple[Store, list[Place], list[AddressBan]]:
    """Open ``--database`` (PostgreSQL) or the SQLite file in ``--data-dir``, and read what it restores.

    Off the event loop: connecting to PostgreSQL and migrating may take a while.
    """
    retention = Retention(config.history_days, config.history_max_per_room)
    if config.database is None:
        store = sqlite_store(config.data_dir / DB_NAME, retention, max_db_pages)
    else:
        try:
            from .pg_store import postgres_store  # psycopg only for those who ask for it
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("psycopg"):
                raise
            raise StoreError(
                "--database needs the PostgreSQL driver, which is not installed:"
                " pip install 'voxroom[cluster]'"
            ) from exc
        store = postgres_store(config.database, retention)
    try:
        store.begin()
        places, bans = store.load_places(), store.load_bans(time.time())
        store.commit()
    except BaseException:
        store.rollback()
        store.close()
        raise
    return store, places, bans


def _select_subprotocol(protocol: ServerProtocol, offered: Sequence[Subprotocol]) -> Subprotocol | None:
    """Echo ``voxroom.v1`` when offered; serve v1 without one otherwise."""
    return Subprotocol(limits.SUBPROTOCOL) if limits.SUBPROTOCOL in offered else None


def _bearer_matches(request: Request, token: str | None) -> bool:
    """No token is asked for, or ``Authorization: Bearer TOKEN`` gives it (compared in constant time)."""
    if token is None:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _response(protocol: ServerProtocol, status: HTTPStatus, body: str, content_type: str = "") -> Response:
    response = protocol.reject(status, body)
    if content_type:
        headers = Headers((k, v) for k, v in response.headers.raw_items() if k.lower() != "content-type")
        headers["Content-Type"] = content_type
        response.headers = headers
    return response


def _tls_context(config: ServerConfig) -> ssl.SSLContext | None:
    if config.tls_cert is None or config.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config.tls_cert, config.tls_key)
    return context
