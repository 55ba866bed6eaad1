"""Command-line flags, each also read from a ``VOXROOM_*`` environment variable.

A flag given on the command line wins over the environment, which wins
over the default.
"""

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from protocol import IceServer, limits

from .hub import HubConfig


@dataclass(frozen=True, slots=True)
class ServerConfig(HubConfig):
    """The rooms' rules (inherited) and where and how to listen: the hub takes it as it is."""

    host: str = "0.0.0.0"  # noqa: S104 - a server for the LAN listens on every interface
    port: int = limits.DEFAULT_PORT
    data_dir: Path = Path(platformdirs.user_data_dir("voxroom-server"))
    log_level: str = "info"
    tls_cert: Path | None = None
    tls_key: Path | None = None
    max_message_bytes: int = limits.DEFAULT_MAX_MESSAGE_BYTES
    ping_interval_s: float = limits.PING_INTERVAL_S  # fixed by the spec; a field so tests can shorten it
    ping_timeout_s: float = limits.PING_TIMEOUT_S


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def parse_args(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> ServerConfig:
    env = dict(os.environ if environ is None else environ)
    d = ServerConfig()
    p = argparse.ArgumentParser(
        prog="voxroom-server",
        description="Voxroom signaling server: rooms, chat history and WebRTC signaling relay.",
        epilog="Every flag can also be set as VOXROOM_<FLAG> (e.g. VOXROOM_PORT=9000).",
    )

    def opt(flag: str, help_text: str, default: object, **kw: object) -> None:
        var = _env_name(flag)
        # argparse applies ``type`` to a string default, so the environment is validated too.
        kw["default"] = None if kw.get("action") == "append" else env.get(var, default)
        p.add_argument(flag, help=f"{help_text} [{var}]", **kw)  # type: ignore[arg-type]

    opt("--host", f"address to listen on (default {d.host})", d.host)
    opt("--port", f"port for WebSocket and HTTP (default {d.port})", d.port, type=int)
    opt(
        "--data-dir",
        "directory of the SQLite database (default: the user data directory)",
        d.data_dir,
        type=Path,
    )
    opt(
        "--log-level",
        "debug, info, warning or error",
        d.log_level,
        choices=["debug", "info", "warning", "error"],
    )
    opt("--password", "password every join must give (default: none)", None)
    opt("--tls-cert", "PEM certificate chain: serve wss:// and https://", None, type=Path)
    opt("--tls-key", "PEM private key for --tls-cert", None, type=Path)
    opt(
        "--ice-server",
        "STUN/TURN URL handed to clients (repeatable; space-separated in the variable)",
        None,
        action="append",
    )
    opt("--max-room-size", f"peers per room (default {d.max_room_size})", d.max_room_size, type=_positive_int)
    opt(
        "--max-connections",
        f"open connections (default {d.max_connections})",
        d.max_connections,
        type=_positive_int,
    )
    opt(
        "--max-message-bytes",
        f"largest message (default {d.max_message_bytes})",
        d.max_message_bytes,
        type=_positive_int,
    )
    opt(
        "--chat-rate",
        f"chat+state messages/s per connection, burst {limits.CHAT_BURST_PER_RATE}x"
        f" (default {d.chat_rate_per_s:g})",
        d.chat_rate_per_s,
        type=_positive_float,
    )
    opt(
        "--signal-rate",
        f"signal messages/s per connection, burst {limits.SIGNAL_BURST_PER_RATE}x"
        f" (default {d.signal_rate_per_s:g})",
        d.signal_rate_per_s,
        type=_positive_float,
    )
    opt(
        "--grace",
        f"seconds a dropped peer keeps its place (default {d.grace_s:g})",
        d.grace_s,
        type=_positive_float,
    )
    p.add_argument("--version", action="version", version=f"voxroom-server {d.version}")
    a = p.parse_args(argv)
    if (a.tls_cert is None) != (a.tls_key is None):
        p.error("--tls-cert and --tls-key go together")
    return ServerConfig(
        host=a.host,
        port=int(a.port),
        data_dir=Path(a.data_dir),
        log_level=a.log_level,
        password=a.password or None,
        tls_cert=a.tls_cert and Path(a.tls_cert),
        tls_key=a.tls_key and Path(a.tls_key),
        ice_servers=tuple(
            IceServer(urls=[url]) for url in a.ice_server or env.get(_env_name("--ice-server"), "").split()
        ),
        max_room_size=int(a.max_room_size),
        max_connections=int(a.max_connections),
        max_message_bytes=int(a.max_message_bytes),
        chat_rate_per_s=float(a.chat_rate),
        signal_rate_per_s=float(a.signal_rate),
        grace_s=float(a.grace),
    )


def _env_name(flag: str) -> str:
    return "VOXROOM_" + flag.lstrip("-").replace("-", "_").upper()
