"""A bare-bones WebSocket client for the load generator, on asyncio (uvloop) protocols.

Why not the ``websockets`` client: it runs a Python parser generator and an
assembler queue per received frame, which at 100,000+ deliveries per second
would make the generator, not the server, the bottleneck on a 2-core machine.
Here a received frame costs a slice and a ``bytes.find``. Server frames are
never masked; client frames must be, and a zero mask key (payload unchanged)
is valid RFC 6455 that saves the XOR. Only what the benchmark needs exists:
handshake, text frames, ping → pong, close.
"""

import asyncio
import base64
import hashlib
import os
import socket
import struct
import time
from collections.abc import Callable
from typing import cast

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
ZERO_MASK = b"\x00\x00\x00\x00"
OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA
MARK = b"ts!"
STAMP = MARK + b"%03d:%019d;"
"""Every timed message carries ``ts!SSS:NNNNNNNNNNNNNNNNNNN;`` (step, ``time.time_ns()``, fixed width
so the receiver slices instead of searching)."""

Sink = Callable[[bytes, int], None]
"""Receives each text frame nobody waits for, with the receive time (``time.time_ns()``)."""


def frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """One final, client-masked (zero key) frame."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + ZERO_MASK + payload


def handshake(host: str, port: int) -> tuple[bytes, bytes]:
    """The upgrade request offering ``voxroom.v1``, and the ``Sec-WebSocket-Accept`` it must get."""
    key = base64.b64encode(os.urandom(16))
    request = (
        f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: voxroom.v1\r\n\r\n"
    ).encode()
    return request, base64.b64encode(hashlib.sha1(key + WS_GUID).digest())


def check_upgrade(head: bytes, accept: bytes) -> None:
    """Refuse anything but ``101`` with the right accept key (a misconfigured run must not pass)."""
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"upgrade refused: {lines[0]!r}")
    if not any(line.lower() == b"sec-websocket-accept: " + accept.lower() for line in lines[1:]):
        raise ConnectionError("bad Sec-WebSocket-Accept")


class WsClient(asyncio.Protocol):
    """One connection; text frames go to a waiting ``request()`` or else to the shared sink."""

    def __init__(self, host: str, port: int, sink: Sink) -> None:
        self._request, self._accept = handshake(host, port)
        self._sink = sink
        self._buf = b""
        self._upgraded = False
        self._opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiter: asyncio.Future[bytes] | None = None
        self.transport: asyncio.Transport | None = None
        self.closed = False

    @classmethod
    async def open(cls, host: str, port: int, sink: Sink) -> "WsClient":
        loop = asyncio.get_running_loop()
        _, client = await loop.create_connection(lambda: cls(host, port, sink), host, port)
        await asyncio.wait_for(client._opened, 30)
        return client

    # --- asyncio.Protocol -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        error = ConnectionError("connection lost")
        for future in (self._opened, self._waiter):
            if future is not None and not future.done():
                future.set_exception(error)

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        if not self._buf and self._upgraded and self._waiter is None:
            # The fast path, nearly every call under load: exactly one short text frame.
            n = len(data)
            if data[0] == 0x81 and (
                data[1] + 2 == n < 128 or (data[1] == 126 and int.from_bytes(data[2:4], "big") + 4 == n)
            ):
                self._sink(data, now)  # the sink looks for the mark anywhere in the frame
                return
        buf = self._buf + data if self._buf else data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self._buf = buf
                return
            try:
                check_upgrade(buf[:end], self._accept)
            except ConnectionError as exc:
                self._opened.set_exception(exc)
                self.abort()
                return
            self._upgraded = True
            self._opened.set_result(None)
            buf = buf[end + 4 :]
        self._buf = self._frames(buf, now)

    # --- frames -----------------------------------------------------------------

    def _frames(self, buf: bytes, now: int) -> bytes:
        """Handle every complete frame in ``buf``; return the incomplete rest."""
        i, n = 0, len(buf)
        while n - i >= 2:
            length, start = buf[i + 1] & 0x7F, i + 2
            if length == 126:
                if n - i < 4:
                    break
                length, start = int.from_bytes(buf[i + 2 : i + 4], "big"), i + 4
            elif length == 127:
                if n - i < 10:
                    break
                length, start = int.from_bytes(buf[i + 2 : i + 10], "big"), i + 10
            end = start + length
            if end > n:
                break
            self._frame(buf[i] & 0x0F, buf[start:end], now)
            i = end
        return buf[i:]

    def _frame(self, opcode: int, payload: bytes, now: int) -> None:
        if opcode == OP_TEXT:
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(payload)
            else:
                self._sink(payload, now)
        elif opcode == OP_PING:  # the server drops peers that stay silent 40 s
            self.write(frame(payload, OP_PONG))
        elif opcode == OP_CLOSE:
            self.abort()

    # --- sending ----------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Queue already-framed bytes (one or many frames)."""
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    async def request(self, payload: bytes, timeout: float = 30) -> bytes:
        """Send one text message and return the next text message received."""
        self._waiter = asyncio.get_running_loop().create_future()
        self.write(frame(payload))
        try:
            return await asyncio.wait_for(self._waiter, timeout)
        finally:
            self._waiter = None

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


def blocking_open(host: str, port: int, timeout: float = 10) -> socket.socket:
    """A plain blocking socket, upgraded; for the flooder, which only writes."""
    sock = socket.create_connection((host, port), timeout=timeout)
    request, accept = handshake(host, port)
    sock.sendall(request)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during upgrade")
        head += chunk
    check_upgrade(head.split(b"\r\n\r\n", 1)[0], accept)
    return sock
