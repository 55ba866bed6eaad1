"""A thin real-websockets test client speaking protocol v1 as plain dicts.

Tests talk JSON, not our typed structs, so that they check the wire format
itself rather than our codec agreeing with itself.
"""

import asyncio
import json
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.typing import Subprotocol

TIMEOUT_S = 5.0


class Client:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, url: str, subprotocols: list[str] | None = None, **kw: Any) -> "Client":
        offered = [Subprotocol(s) for s in (["voxroom.v1"] if subprotocols is None else subprotocols)]
        ws = await connect(
            url, subprotocols=offered or None, max_size=None, max_queue=None, open_timeout=TIMEOUT_S, **kw
        )
        return cls(ws)

    @classmethod
    async def not_reading(cls, url: str, **join: Any) -> "Client":
        """A client that sends ``join`` with these fields and then reads nothing, ever.

        Its socket's receive window is a few KiB, so what the server sends it
        stays with the server, as with an attacker's socket.
        """
        target = urlsplit(url)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (target.hostname, target.port))
        client = await cls.open(url, sock=sock)
        client.ws.transport.pause_reading()
        await client.send({"type": "join", **join})
        return client

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(json.dumps(message) if isinstance(message, dict) else message)

    def pipeline(self, messages: Sequence[dict[str, Any] | str]) -> None:
        """Write ``messages`` as text frames in ONE write, as an attacker would.

        The frames go past websockets straight into the socket, so the server
        finds them all in one read, behind one another.
        """
        frames = (
            Frame(Opcode.TEXT, (json.dumps(m) if isinstance(m, dict) else m).encode()).serialize(mask=True)
            for m in messages
        )
        self.ws.transport.write(b"".join(frames))

    async def recv(self, timeout: float = TIMEOUT_S) -> dict[str, Any]:
        data = await asyncio.wait_for(self.ws.recv(), timeout)
        message = json.loads(data)
        assert isinstance(message, dict)
        return message

    async def expect(
        self, kind: str, timeout: float = TIMEOUT_S, skip: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The next message, which must be of ``kind`` (after any of ``skip``)."""
        while True:
            message = await self.recv(timeout)
            if message["type"] in skip:
                continue
            assert message["type"] == kind, message
            return message

    async def nothing(self, within: float = 0.3) -> None:
        """Assert that no message arrives for a while."""
        try:
            message = await asyncio.wait_for(self.ws.recv(), within)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message: {message!r}")

    async def join(self, room: str = "lobby", username: str = "alice", **fields: Any) -> dict[str, Any]:
        await self.send({"type": "join", "room": room, "username": username, **fields})
        return await self.expect("joined")

    async def until_closed(self, timeout: float = TIMEOUT_S) -> list[dict[str, Any]]:
        """Every message until the server closes (within ``timeout``); then see ``closed``."""
        received = []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    received.append(json.loads(await self.ws.recv()))
        except ConnectionClosed:
            return received

    async def closed(self, timeout: float = TIMEOUT_S) -> tuple[int | None, str | None]:
        """Wait until the server closes; return (code, reason)."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.ws.recv()
        except ConnectionClosed:
            pass
        rcvd = self.ws.protocol.close_rcvd
        return (rcvd.code, rcvd.reason) if rcvd else (None, None)

    async def close(self) -> None:
        await self.ws.close()
