"""The relay's Python path, in process: µs of CPU per relayed signal, and where they go.

Usage: ``.venv/bin/python bench/relay_path.py [--signals 20000] [--rounds 5] [--profile] [--tree DIR]``
(``--tree``: another version's ``signaling_server`` and ``protocol``, e.g. from ``git archive``).

The server's own parts (``Connection``, websockets' ``ServerProtocol``,
``Relay``, ``Hub``, msgspec, prometheus) run on a real loop against a
transport that only counts what is written: no socket, kernel or second
process, so what is left is the Python a signal costs between the read
and the write, the part ``bench/server_bench.py`` cannot see apart from
the loop's and the kernel's work. Two peers join a room; A's signal frames
(masked, as a client sends them, the load generator's shape) are handed to
``data_received`` one at a time. Prints the best round's µs per signal and,
with ``--profile``, cProfile's own time per function.
"""

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
_TREE = sys.argv[sys.argv.index("--tree") + 1] if "--tree" in sys.argv else str(REPO)
sys.path.insert(0, _TREE)  # a script in bench/: the packages live one level up, or in --tree

import msgspec  # noqa: E402
from websockets.client import ClientProtocol  # noqa: E402
from websockets.typing import Subprotocol  # noqa: E402
from websockets.uri import parse_uri  # noqa: E402

from protocol import limits  # noqa: E402
from signaling_server.app import start  # noqa: E402
from signaling_server.config import ServerConfig  # noqa: E402
from signaling_server.transport import Relay  # noqa: E402
from signaling_server.wsproto import Connection  # noqa: E402


class CountingTransport:
    """What ``Connection`` asks of a transport; writes are kept only as the last one."""

    def __init__(self) -> None:
        self.writes = 0
        self.last = b""

    def write(self, data: bytes) -> None:
        self.writes += 1
        self.last = data

    def writelines(self, frames: list[bytes]) -> None:
        self.write(b"".join(frames))

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return False

    def is_reading(self) -> bool:
        return True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def close(self) -> None:
        pass


def client_frame(text: str) -> bytes:
    """A masked text frame, as a client sends it (RFC 6455 5.2), under 64 KiB."""
    payload, key = text.encode(), b"\x12\x34\x56\x78"
    n = len(payload)
    header = bytes((0x81, 0x80 | n)) if n < 126 else bytes((0x81, 0x80 | 126)) + n.to_bytes(2, "big")
    return header + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


class Peer:
    def __init__(self, factory: Any, name: str) -> None:
        self.transport = CountingTransport()
        self.conn: Connection = factory()
        self.conn.connection_made(self.transport)
        client = ClientProtocol(
            parse_uri(f"ws://127.0.0.1{limits.WS_PATH}"), subprotocols=[Subprotocol(limits.SUBPROTOCOL)]
        )
        client.send_request(client.connect())
        self.conn.data_received(b"".join(client.data_to_send()))
        assert self.conn.open, self.transport.last
        join = msgspec.json.encode({"type": "join", "room": "bench", "username": name}).decode()
        self.conn.data_received(client_frame(join))

    def own_id(self) -> str:
        payload = self.transport.last[2:] if self.transport.last[1] < 126 else self.transport.last[4:]
        message = msgspec.json.decode(payload)
        assert message["type"] == "joined", message
        return str(message["self"]["id"])


async def measure(signals: int, rounds: int, profile: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="vx-relay-path-") as data:
        config = ServerConfig(
            host="127.0.0.1", port=0, data_dir=Path(data), log_level="warning", signal_rate_per_s=1e9
        )
        server = await start(config)
        try:
            relay: Relay = server.relay
            await asyncio.sleep(0.05)

            def factory() -> Connection:
                made: Connection = server.server._protocol_factory()  # type: ignore[attr-defined]
                return made

            a, b = Peer(factory, "a"), Peer(factory, "b")
            await asyncio.sleep(0.05)
            target = b.own_id()
            signal = (
                '{"type":"signal","target":"' + target + '","payload":{"kind":"candidate",'
                '"candidate":"vx0000000000000000000000000","sdpMid":"0","sdpMLineIndex":0}}'
            )
            frame = client_frame(signal)
            feed = a.conn.data_received
            best = float("inf")
            for _ in range(rounds):
                before = b.transport.writes
                t0 = time.perf_counter()
                for _ in range(signals):
                    feed(frame)
                took = time.perf_counter() - t0
                assert b.transport.writes - before == signals, "every signal must reach B"
                best = min(best, took / signals)
            print(f"relay path: {best * 1e6:.2f} µs of Python per signal (best of {rounds} x {signals})")
            if profile:
                prof = cProfile.Profile()
                prof.enable()
                for _ in range(signals):
                    feed(frame)
                prof.disable()
                out = io.StringIO()
                pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
                print(out.getvalue())
            del relay
        finally:
            await server.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--signals", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--tree", help="import signaling_server and protocol from here (read before argparse)")
    args = p.parse_args()
    asyncio.run(measure(args.signals, args.rounds, args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
