"""A small asyncio client of Janus's WebSocket API: sessions, plugin handles, messages, events.

Janus answers a request with the same ``transaction``: ``success`` or
``error`` at once, or (for a plugin request that takes time, or carries a
JSEP) ``ack`` first and an ``event`` later. ``JanusClient.request`` waits for
the final one of these. Everything that comes without a pending transaction
(a plugin's notifications, ``webrtcup``, ``hangup``, ``media``, ``slowlink``,
``timeout``) goes to its handle's (or session's) queue, read with
``next_event``.

Every request carries the API secret and/or token when given. A session
lives while Janus hears from it at least every ``session_timeout`` (60 s by
default): ``Session`` sends a ``keepalive`` every ``KEEPALIVE_S``. No trickle:
aiortc puts all its candidates in the SDP (FIELD-NOTES), so a JSEP goes with
``trickle: false`` and Janus needs no ``trickle`` message.
"""

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

log = logging.getLogger("voxroom.janus")

Json = dict[str, Any]
SUBPROTOCOL = Subprotocol("janus-protocol")
KEEPALIVE_S = 25.0
"""Well inside Janus's default 60 s ``session_timeout``."""
REQUEST_TIMEOUT_S = 10.0
OPEN_TIMEOUT_S = 5.0
CLOSE_TIMEOUT_S = 2.0
"""A Janus that does not answer our close frame is cut off after this (websockets waits 10 s)."""
TOKEN_REALM = "janus"  # noqa: S105 - the name in a token, not a secret
ACK_IS_FINAL = frozenset({"keepalive", "trickle"})


class JanusError(Exception):
    """Janus (``error``) or a plugin (``error_code`` in its data) refused a request."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code, self.reason = code, reason


def signed_token(secret: str, plugins: Sequence[str], ttl_s: float, now: float | None = None) -> str:
    """A token for Janus's ``token_auth_secret``, good for ``ttl_s`` and for attaching to ``plugins`` only.

    Its form: ``EXPIRY,janus,PLUGIN…:base64(HMAC-SHA1(secret, "EXPIRY,janus,PLUGIN…"))``.
    """
    expiry = int((time.time() if now is None else now) + ttl_s)
    data = ",".join([str(expiry), TOKEN_REALM, *plugins])
    digest = hmac.new(secret.encode(), data.encode(), hashlib.sha1).digest()
    return f"{data}:{base64.b64encode(digest).decode()}"


@dataclass(frozen=True, slots=True)
class Reply:
    """A plugin's answer: its ``plugindata.data`` and the JSEP, if any."""

    data: Json
    jsep: Json | None


class JanusClient:
    """One WebSocket to Janus. Use ``async with await JanusClient.connect(…)``, or ``close``.

    Args:
        api_secret, token: added to every request when given.
    """

    def __init__(self, ws: ClientConnection, *, api_secret: str | None, token: str | None) -> None:
        self._ws = ws
        self._auth: Json = {}
        if api_secret is not None:
            self._auth["apisecret"] = api_secret
        if token is not None:
            self._auth["token"] = token
        self._transactions = (f"t{n}" for n in itertools.count())
        self._pending: dict[str, asyncio.Future[Json]] = {}
        self._ack_final: set[str] = set()
        self._queues: dict[int, asyncio.Queue[Json]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        api_secret: str | None = None,
        token: str | None = None,
        sock: socket.socket | None = None,
    ) -> Self:
        """Open the WebSocket (``sock``: an already connected socket to use, e.g. in another netns)."""
        ws = await connect(
            url,
            subprotocols=[SUBPROTOCOL],
            sock=sock,
            open_timeout=OPEN_TIMEOUT_S,
            close_timeout=CLOSE_TIMEOUT_S,
            compression=None,
        )
        return cls(ws, api_secret=api_secret, token=token)

    async def close(self) -> None:
        await self._ws.close()
        await self._reader

    async def wait_closed(self) -> None:
        """Return once the WebSocket is closed (Janus stopped or the network failed)."""
        await asyncio.shield(self._reader)

    def forget(self, owner: int) -> None:
        """Drop a detached handle's (or destroyed session's) queue: nothing reads it any more."""
        self._queues.pop(owner, None)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(self, body: Json, timeout_s: float = REQUEST_TIMEOUT_S) -> Json:
        """Send ``body`` (``janus`` set, transaction and auth added); the final reply.

        An ``ack`` is final only for ``keepalive`` and ``trickle`` (nothing follows it for those).

        Raises:
            JanusError: Janus answered ``error``.
            TimeoutError: no final reply in ``timeout_s``.
            ConnectionClosed: the WebSocket closed first.
        """
        transaction = next(self._transactions)
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = future
        if body["janus"] in ACK_IS_FINAL:
            self._ack_final.add(transaction)
        try:
            await self._ws.send(json.dumps({**body, **self._auth, "transaction": transaction}))
            reply = await asyncio.wait_for(future, timeout_s)
        finally:
            self._pending.pop(transaction, None)
            self._ack_final.discard(transaction)
        if reply["janus"] == "error":
            raise JanusError(reply["error"]["code"], reply["error"]["reason"])
        return reply

    async def create_session(self) -> "Session":
        reply = await self.request({"janus": "create"})
        return Session(self, reply["data"]["id"])

    def queue(self, owner: int) -> "asyncio.Queue[Json]":
        """The unsolicited messages for a session or handle id."""
        return self._queues.setdefault(owner, asyncio.Queue())

    async def _read(self) -> None:
        closed = ConnectionClosed(None, None)
        try:
            async for raw in self._ws:
                message: Json = json.loads(raw)
                transaction = message.get("transaction", "")
                future = self._pending.get(transaction)
                if future is not None and (message["janus"] != "ack" or transaction in self._ack_final):
                    if not future.done():
                        future.set_result(message)
                elif future is None:
                    owner: int = message.get("sender") or message.get("session_id") or 0
                    self.queue(owner).put_nowait(message)
        except ConnectionClosed as exc:
            closed = exc
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(closed)


@dataclass
class Session:
    """A Janus session, kept alive by a keepalive every ``KEEPALIVE_S`` until ``destroy``."""

    client: JanusClient
    id: int
    _keepalive: asyncio.Task[None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._keepalive = asyncio.create_task(self._keep_alive())

    async def keepalive(self) -> None:
        """Tell Janus the session is in use (``Session`` does this by itself every ``KEEPALIVE_S``)."""
        await self.client.request({"janus": "keepalive", "session_id": self.id})

    async def _keep_alive(self) -> None:
        """A failed keepalive means the session is lost: its WebSocket closes, so ``wait_closed`` returns."""
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            try:
                await self.keepalive()
            except (JanusError, TimeoutError, ConnectionClosed) as exc:
                log.warning("janus session %s: keepalive failed: %s", self.id, exc)
                await self.client.close()
                return

    async def attach(self, plugin: str) -> "Handle":
        """A handle on ``plugin`` (e.g. ``janus.plugin.videoroom``): one per peer connection."""
        reply = await self.client.request({"janus": "attach", "session_id": self.id, "plugin": plugin})
        return Handle(self, reply["data"]["id"])

    async def destroy(self) -> None:
        """Stop the keepalives and end the session (Janus hangs up its handles)."""
        if self._keepalive is not None:
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive
        with contextlib.suppress(ConnectionClosed):
            await self.client.request({"janus": "destroy", "session_id": self.id})


@dataclass(frozen=True, slots=True)
class Handle:
    """A plugin handle: its requests and its own events."""

    session: Session
    id: int

    async def message(
        self, body: Json, jsep: Json | None = None, timeout_s: float = REQUEST_TIMEOUT_S
    ) -> Reply:
        """A plugin request; its reply (sync ``success`` or async ``event``).

        Raises:
            JanusError: Janus or the plugin refused (a plugin error is its ``error_code``).
        """
        request: Json = {
            "janus": "message",
            "session_id": self.session.id,
            "handle_id": self.id,
            "body": body,
        }
        if jsep is not None:
            request["jsep"] = {**jsep, "trickle": False}
        reply = await self.session.client.request(request, timeout_s)
        data: Json = reply.get("plugindata", {}).get("data", {})
        if "error_code" in data:
            raise JanusError(data["error_code"], data.get("error", ""))
        return Reply(data, reply.get("jsep"))

    async def next_event(
        self, wanted: Callable[[Json], bool] = lambda _: True, timeout_s: float = REQUEST_TIMEOUT_S
    ) -> Json:
        """The next unsolicited message for this handle that ``wanted`` accepts (others are dropped)."""
        queue = self.session.client.queue(self.id)
        async with asyncio.timeout(timeout_s):
            while not wanted(message := await queue.get()):
                pass
        return message

    async def events(self) -> AsyncIterator[Json]:
        """Every unsolicited message for this handle, as it comes."""
        queue = self.session.client.queue(self.id)
        while True:
            yield await queue.get()

    async def detach(self) -> None:
        """Janus hangs up the handle's peer connection; its queue is dropped."""
        try:
            with contextlib.suppress(ConnectionClosed):
                await self.session.client.request(
                    {"janus": "detach", "session_id": self.session.id, "handle_id": self.id}
                )
        finally:
            self.session.client.forget(self.id)


def plugin_data(message: Json) -> Json:
    """An unsolicited plugin ``event``'s data (empty for other messages)."""
    data: Json = message.get("plugindata", {}).get("data", {})
    return data
