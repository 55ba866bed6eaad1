"""A stand-in relay that does almost nothing: the latency floor of this machine and generator.

Why: on a small VM, waking an idle CPU, two loopback hops and the generator's
own event loop cost a good part of a millisecond at p99. Relaying the same
signals through this trivial server (stdlib asyncio, the default loop, as the
real server uses) shows how much of the measured relay latency is the
server's own work. It answers ``join`` with ``{"type":"joined","self":{"id":N}}``
and forwards each ``signal`` to its ``target``; it parses only what that needs.

Run: ``python vxbench_floor.py [--port N]`` prints ``... listening on ws://127.0.0.1:PORT/ws``.
It takes the server's ``--host``, ``--port`` and ``--data-dir`` (and ignores
the folder), so the launcher that starts the server starts it too.
"""

import argparse
import asyncio
import base64
import hashlib
import json

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_peers: dict[str, "FloorPeer"] = {}


def _server_frame(payload: bytes) -> bytes:
    n = len(payload)
    head = bytes((0x81, n)) if n < 126 else bytes((0x81, 126)) + n.to_bytes(2, "big")
    return head + payload


class FloorPeer(asyncio.Protocol):
    """One connection: upgrade, then masked client frames in, unmasked frames out."""

    def __init__(self) -> None:
        self.id = str(len(_peers) + 1)
        self._buf = b""
        self._upgraded = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        _peers[self.id] = self

    def connection_lost(self, exc: Exception | None) -> None:
        _peers.pop(self.id, None)

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self._buf = buf
                return
            self._upgrade(buf[:end])
            buf = buf[end + 4 :]
        while len(buf) >= 6:
            length, start = buf[1] & 0x7F, 2
            if length == 126:
                length, start = int.from_bytes(buf[2:4], "big"), 4
            end = start + 4 + length
            if len(buf) < end:
                break
            mask = buf[start : start + 4]
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(buf[start + 4 : end]))
            buf = buf[end:]
            self._message(json.loads(payload))
        self._buf = buf

    def _upgrade(self, head: bytes) -> None:
        assert self.transport is not None
        key = next(
            line.split(b":", 1)[1].strip()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest())
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Protocol: voxroom.v1\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self._upgraded = True

    def _message(self, message: dict[str, object]) -> None:
        if message.get("type") == "join":
            self._send(self, {"type": "joined", "self": {"id": self.id}})
        elif message.get("type") == "signal":
            target = _peers.get(str(message.get("target")))
            if target is not None:
                self._send(target, {"type": "signal", "from": self.id, "payload": message.get("payload")})

    @staticmethod
    def _send(peer: "FloorPeer", message: dict[str, object]) -> None:
        if peer.transport is not None:
            peer.transport.write(_server_frame(json.dumps(message, separators=(",", ":")).encode()))


async def main(host: str, port: int) -> None:
    server = await asyncio.get_running_loop().create_server(FloorPeer, host, port)
    port = server.sockets[0].getsockname()[1]
    print(f"floor relay listening on ws://{host}:{port}/ws", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--data-dir", help="ignored: it keeps nothing")
    args = p.parse_args()
    asyncio.run(main(args.host, args.port))
