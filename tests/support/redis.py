"""A private Redis with a generated config: the live state several server instances share.

Debian's ``redis-server`` runs in the foreground (``daemonize no``) with its
config, log, pid file and data in a temporary folder, on 127.0.0.1 and a port
of its own that a restart keeps (so clients reconnect to the same URL, as
after an operator's restart). Nothing persists unless asked: by default a
restart comes back empty, which is what the servers must rebuild from.

Started means it answers ``PING``, spoken in RESP over a socket here, so
the launcher needs no Redis client library.
"""

import socket
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from .daemon import Daemon, require
from .ports import free_port

HOST = "127.0.0.1"
PROBE_TIMEOUT_S = 1.0

Reply = bytes | int | None | list["Reply"]
"""A RESP reply: simple and bulk strings as bytes, integers, nil, arrays."""


class RespError(Exception):
    """Redis answered ``-ERR …`` (or ``-LOADING …`` while it reads its data back)."""


def resp(port: int, *args: str | bytes, timeout_s: float = PROBE_TIMEOUT_S) -> Reply:
    """Send one command to the Redis on ``HOST:port`` and return its reply.

    Raises:
        RespError: Redis refused the command.
        OSError: nothing answered.
    """
    parts = [arg.encode() if isinstance(arg, str) else arg for arg in args]
    request = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
    with socket.create_connection((HOST, port), timeout=timeout_s) as sock:
        sock.sendall(request)
        return _read_reply(sock.makefile("rb"))


def _read_reply(stream: BinaryIO) -> Reply:
    line = stream.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("Redis closed the connection mid-reply")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body
    if kind == b"-":
        raise RespError(body.decode(errors="replace"))
    if kind == b":":
        return int(body)
    if kind == b"$":
        size = int(body)
        if size < 0:
            return None
        return stream.read(size + 2)[:-2]
    if kind == b"*":
        count = int(body)
        return None if count < 0 else [_read_reply(stream) for _ in range(count)]
    raise ConnectionError(f"not a RESP reply: {line!r}")


class Redis(Daemon):
    """``redis-server`` on 127.0.0.1 with everything in ``tmp`` (the caller removes the folder).

    Args:
        tmp: a folder for its config, log, pid file and data.
        port: its port; ``free_port()`` if None. A restart keeps it.
        persist: keep data across restarts (an append-only file, synced on
            every write, so a ``kill`` loses nothing); off by default.
    """

    name = "redis"

    def __init__(self, tmp: Path, port: int | None = None, *, persist: bool = False) -> None:
        require("redis-server", "redis-server")
        super().__init__(tmp, pid_path=tmp / "redis.pid")
        self.port = port or free_port()
        self.log_path = tmp / "redis.log"
        lines = [
            f"bind {HOST}",
            f"port {self.port}",
            "daemonize no",
            "supervised no",
            f"dir {tmp}",
            f"pidfile {self.pid_path}",
            f"logfile {self.log_path}",
            'save ""',
            f"appendonly {'yes' if persist else 'no'}",
            "appendfsync always",
        ]
        self.config_path = self.write_config("redis.conf", lines)

    @property
    def url(self) -> str:
        """What ``--redis`` takes: database 0 on this instance."""
        return f"redis://{HOST}:{self.port}/0"

    def command(self) -> Sequence[str]:
        return ["redis-server", str(self.config_path)]

    def logs(self) -> Sequence[Path]:
        return (self.output_path, self.log_path)

    def ready(self) -> bool:
        """It answers PING with PONG (not ``-LOADING`` while it reads its append-only file back)."""
        try:
            return self.send("PING") == b"PONG"
        except (OSError, RespError):
            return False

    def send(self, *args: str | bytes) -> Reply:
        """One command to this instance (``send("SET", "k", "v")``); see ``resp``."""
        return resp(self.port, *args)
