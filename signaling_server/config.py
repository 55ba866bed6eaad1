"""Settings from the command line, ``VOXROOM_*`` environment variables and a TOML file.

Each setting is taken from the first of: the command line, the environment
(``--max-room-size`` is ``VOXROOM_MAX_ROOM_SIZE``), the ``--config`` file
(whose keys are the long flag names: ``max-room-size = 32``), the default.
A secret can come from a file instead (``--password-file``: its first line),
so that none has to be on a command line or in the environment.
"""

import argparse
import difflib
import enum
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from protocol import IceServer, limits

from . import turn
from .addresses import Network, network
from .hub import HubConfig
from .logs import LogFormat

CONFIG_VAR = "VOXROOM_CONFIG"
MAX_MEDIA_ROOM_SIZE = 200
"""The most publishers a Janus room is created for (signaling_server/media.py)."""


@dataclass(frozen=True, slots=True)
class ServerConfig(HubConfig):
    """The rooms' rules (inherited) and where and how to listen: the hub takes it as it is."""

    host: str = "0.0.0.0"  # noqa: S104 - a server for the LAN listens on every interface
    port: int = limits.DEFAULT_PORT
    data_dir: Path = Path(platformdirs.user_data_dir("voxroom-server"))
    database: str | None = field(default=None, repr=False)  # PostgreSQL's URL; it may hold a password
    redis: str | None = field(default=None, repr=False)  # with ``database``: one service of many instances
    history_days: int = 0  # 0: kept forever
    history_max_per_room: int = 10_000  # 10x the most a v1 `since` can return (docs/operations.md)
    log_level: str = "info"
    log_format: LogFormat = LogFormat.TEXT
    tls_cert: Path | None = None
    tls_key: Path | None = None
    trust_proxy: tuple[Network, ...] = ()
    metrics_token: str | None = field(default=None, repr=False)
    max_message_bytes: int = limits.DEFAULT_MAX_MESSAGE_BYTES
    ping_interval_s: float = limits.PING_INTERVAL_S  # fixed by the spec; a field so tests can shorten it
    ping_timeout_s: float = limits.PING_TIMEOUT_S
    media_secret: str | None = field(default=None, repr=False)  # Janus's api_secret


class Source(enum.IntEnum):
    """Where a setting came from; a higher one wins."""

    FILE = 1
    ENVIRONMENT = 2
    COMMAND_LINE = 3


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be at least 0")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be above 0")
    return value


def _text_or_none(text: str) -> str | None:
    """An empty value (``VOXROOM_PASSWORD=``) means none, so a higher source can unset a lower one."""
    return text or None


def _database_url(url: str) -> str | None:
    """A ``postgresql://`` URL, kept as given (libpq reads it); empty means none, so SQLite."""
    if not url:
        return None
    if urlsplit(url).scheme not in ("postgresql", "postgres"):
        raise argparse.ArgumentTypeError("is not a postgresql://USER@HOST:PORT/DATABASE URL")
    return url


def _redis_url(url: str) -> str | None:
    """A ``redis://`` (or ``rediss://``, TLS) URL, kept as given; empty means none, so one instance."""
    if not url:
        return None
    if urlsplit(url).scheme not in ("redis", "rediss"):
        raise argparse.ArgumentTypeError("is not a redis://HOST:PORT/DB URL")
    return url


def _media_url(url: str) -> str | None:
    """Janus's WebSocket API, ``ws://HOST:PORT`` (or ``wss://``), kept as given; empty means none."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise argparse.ArgumentTypeError("is not a ws://HOST:PORT URL (Janus's WebSocket API)")
    return url


def _ice_server(url: str) -> IceServer:
    return IceServer(urls=[url])


def _turn_url(url: str) -> str:
    """A checked ``--turn-url``, kept as given: clients get it as it is."""
    try:
        return turn.parse_turn_url(url).url
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


@dataclass(frozen=True, slots=True)
class _Flag:
    """One setting's spelling in the three sources, and the ``ServerConfig`` field it sets.

    Two flags may set one field (``--password``, ``--password-file``): the
    higher source wins, and both from one source is an error.
    """

    name: str  # the long flag without "--"; also the key in the config file
    field: str
    help: str
    parse: Callable[[str], object] = str
    choices: tuple[str, ...] = ()
    repeatable: bool = False  # a list in the file, space-separated in the environment
    secret_file: bool = False  # the value is a file whose first line is the field's value

    @property
    def var(self) -> str:
        return "VOXROOM_" + self.name.replace("-", "_").upper()

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")


_D = ServerConfig()
FLAGS = (
    _Flag("host", "host", f"address to listen on (default {_D.host})"),
    _Flag("port", "port", f"port for WebSocket and HTTP (default {_D.port})", int),
    _Flag(
        "data-dir", "data_dir", "directory of the SQLite database (default: the user data directory)", Path
    ),
    _Flag(
        "database",
        "database",
        "PostgreSQL instead of SQLite in --data-dir: postgresql://USER@HOST:PORT/DATABASE"
        " (needs voxroom[cluster]; docs/operations.md)",
        _database_url,
    ),
    _Flag(
        "redis",
        "redis",
        "run as one of several instances sharing this Redis (redis://HOST:PORT/DB) and --database"
        " (needs voxroom[cluster]; docs/deployment.md)",
        _redis_url,
    ),
    _Flag(
        "history-days",
        "history_days",
        "delete chat messages older than this many days (default 0: keep them)",
        _non_negative_int,
    ),
    _Flag(
        "history-max-per-room",
        "history_max_per_room",
        f"keep the newest this many chat messages per room (default {_D.history_max_per_room}; 0: all)",
        _non_negative_int,
    ),
    _Flag(
        "log-level",
        "log_level",
        "debug, info, warning or error",
        choices=("debug", "info", "warning", "error"),
    ),
    _Flag(
        "log-format", "log_format", "text (default) or json: one object per line", LogFormat, ("text", "json")
    ),
    _Flag("password", "password", "password every join must give (default: none)", _text_or_none),
    _Flag("password-file", "password", "file whose first line is the password", Path, secret_file=True),
    _Flag(
        "admin-password",
        "admin_password",
        "who joins with it is a moderator: kick, ban, server-mute, lock rooms (default: none)",
        _text_or_none,
    ),
    _Flag(
        "admin-password-file",
        "admin_password",
        "file whose first line is the admin password",
        Path,
        secret_file=True,
    ),
    _Flag("tls-cert", "tls_cert", "PEM certificate chain: serve wss:// and https://", Path),
    _Flag("tls-key", "tls_key", "PEM private key for --tls-cert", Path),
    _Flag(
        "trust-proxy",
        "trust_proxy",
        "IP or CIDR of a reverse proxy whose X-Forwarded-For names the client (repeatable)",
        network,
        repeatable=True,
    ),
    _Flag("metrics-token", "metrics_token", "bearer token /metrics asks for (default: open)", _text_or_none),
    _Flag(
        "metrics-token-file",
        "metrics_token",
        "file whose first line is the metrics token",
        Path,
        secret_file=True,
    ),
    _Flag(
        "ice-server",
        "ice_servers",
        "STUN/TURN URL handed to clients (repeatable; space-separated in the variable)",
        _ice_server,
        repeatable=True,
    ),
    _Flag(
        "turn-url",
        "turn_urls",
        "coturn URL handed to clients with credentials from --turn-secret (repeatable; space-separated"
        f" in the variable): {turn.URL_FORMS}",
        _turn_url,
        repeatable=True,
    ),
    _Flag("turn-secret", "turn_secret", "coturn's static-auth-secret (use-auth-secret)", _text_or_none),
    _Flag(
        "turn-secret-file", "turn_secret", "file whose first line is the TURN secret", Path, secret_file=True
    ),
    _Flag(
        "turn-ttl",
        "turn_ttl_s",
        f"seconds the TURN credentials of a join stay valid (default {_D.turn_ttl_s})",
        _positive_int,
    ),
    _Flag(
        "media-server",
        "media_server",
        "Janus's WebSocket API (ws://HOST:8188): rooms past --mesh-limit voices take their call"
        " through it (docs/deployment.md)",
        _media_url,
    ),
    _Flag("media-secret", "media_secret", "Janus's api_secret (needed with --media-server)", _text_or_none),
    _Flag(
        "media-secret-file",
        "media_secret",
        "file whose first line is Janus's api_secret",
        Path,
        secret_file=True,
    ),
    _Flag(
        "mesh-limit",
        "mesh_limit",
        f"voices a room's mesh carries before its call moves to --media-server (default {_D.mesh_limit};"
        " 0: always through it)",
        _non_negative_int,
    ),
    _Flag(
        "max-room-size",
        "max_room_size",
        f"peers per room (default {_D.max_room_size}; up to {MAX_MEDIA_ROOM_SIZE} with --media-server)",
        _positive_int,
    ),
    _Flag(
        "max-connections",
        "max_connections",
        f"open connections (default {_D.max_connections})",
        _positive_int,
    ),
    _Flag(
        "max-message-bytes",
        "max_message_bytes",
        f"largest message (default {_D.max_message_bytes})",
        _positive_int,
    ),
    _Flag(
        "chat-rate",
        "chat_rate_per_s",
        f"chat+state messages/s per connection, burst {limits.CHAT_BURST_PER_RATE}x"
        f" (default {_D.chat_rate_per_s:g})",
        _positive_float,
    ),
    _Flag(
        "signal-rate",
        "signal_rate_per_s",
        f"signal messages/s per connection, burst {limits.SIGNAL_BURST_PER_RATE}x"
        f" (default {_D.signal_rate_per_s:g})",
        _positive_float,
    ),
    _Flag(
        "grace",
        "grace_s",
        f"seconds a dropped peer keeps its place (default {_D.grace_s:g})",
        _positive_float,
    ),
)
"""Every setting; a new one needs a line here and a ``ServerConfig`` field, nothing else."""
_BY_NAME = {flag.name: flag for flag in FLAGS}


def parse_args(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> ServerConfig:
    """The settings from ``argv``, ``environ`` and the config file; exit 2 with a message if one is wrong."""
    return parse_command(argv, environ)[0]


def parse_command(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[ServerConfig, bool]:
    """``parse_args``, and whether ``--check-turn`` asks to test the TURN set-up instead of serving."""
    env = os.environ if environ is None else environ
    p = _parser()
    given = vars(p.parse_args(argv))
    check_turn = bool(given.pop("check_turn", False))
    config_path: Path | None = given.pop("config", None) or (
        Path(env[CONFIG_VAR]) if env.get(CONFIG_VAR) else None
    )
    in_file = {} if config_path is None else _read_config_file(p, config_path)

    chosen: dict[str, tuple[_Flag, Source, object]] = {}  # by field
    for flag in FLAGS:
        found = _lookup(p, flag, given, env, in_file, config_path)
        if found is None:
            continue
        source, value = found
        held = chosen.get(flag.field)
        if held is not None and held[1] is source:
            p.error(
                f"{_where(held[0], source, config_path)} and {_where(flag, source, config_path)}: give one"
            )
        if held is None or source > held[1]:
            chosen[flag.field] = (flag, source, value)

    changes: dict[str, Any] = {}  # each value is of its field's type: the flag's parser made it
    for name, (flag, source, value) in chosen.items():
        if flag.secret_file:
            assert isinstance(value, Path)
            try:
                value = read_secret(value)
            except ValueError as exc:
                p.error(f"{_where(flag, source, config_path)}: {exc}")
        changes[name] = value
    config = replace(ServerConfig(), **changes)
    if config.redis is not None and config.database is None:
        p.error("--redis needs --database: instances share their chats and places through PostgreSQL")
    if (config.tls_cert is None) != (config.tls_key is None):
        p.error("--tls-cert and --tls-key go together")
    if config.turn_urls and config.turn_secret is None:
        p.error(
            "--turn-url needs --turn-secret or --turn-secret-file: coturn refuses clients without credentials"
        )
    if config.turn_secret is not None and not config.turn_urls:
        p.error("--turn-secret needs at least one --turn-url: the credentials are for those URLs")
    if config.media_server is not None and config.media_secret is None:
        p.error(
            "--media-server needs --media-secret or --media-secret-file: Janus's api_secret, so that only"
            " this server can use it"
        )
    if config.media_secret is not None and config.media_server is None:
        p.error("--media-secret needs --media-server")
    if config.media_server is not None and config.redis is not None:
        p.error(
            "--media-server and --redis cannot go together yet: one instance must own a room's Janus side"
        )
    if config.media_server is not None and config.max_room_size > MAX_MEDIA_ROOM_SIZE:
        p.error(f"--max-room-size is at most {MAX_MEDIA_ROOM_SIZE} with --media-server")
    return config, check_turn


def _lookup(
    p: argparse.ArgumentParser,
    flag: _Flag,
    given: Mapping[str, object],
    env: Mapping[str, str],
    in_file: Mapping[str, object],
    config_path: Path | None,
) -> tuple[Source, object] | None:
    """Where ``flag`` is set, highest source first, and its parsed value; None if nowhere."""
    if flag.dest in given:
        value = given[flag.dest]
        return Source.COMMAND_LINE, tuple(value) if isinstance(value, list) else value
    if flag.var in env:
        texts = env[flag.var].split() if flag.repeatable else [env[flag.var]]
        return Source.ENVIRONMENT, _parse(p, flag, texts, flag.var)
    if flag.name in in_file:
        where = f"{config_path}: {flag.name}"
        return Source.FILE, _parse(p, flag, _file_texts(p, flag, in_file[flag.name], where), where)
    return None


def read_secret(path: Path) -> str:
    """The first line of ``path``, without its line ending.

    Raises:
        ValueError: the file cannot be read, or its first line is empty.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text") from exc
    secret = text.split("\n", 1)[0].removesuffix("\r")
    if not secret:
        raise ValueError(f"{path} is empty (its first line is the secret)")
    return secret


def _parser() -> argparse.ArgumentParser:
    """Flags only: a flag absent from ``argv`` is absent from the result (``SUPPRESS``)."""
    p = argparse.ArgumentParser(
        prog="voxroom-server",
        description="Voxroom signaling server: rooms, chat history and WebRTC signaling relay.",
        epilog="Every flag can also be set as VOXROOM_<FLAG> (VOXROOM_PORT=9000) or in the --config file"
        " (port = 9000). The command line wins over the environment, which wins over the file.",
        argument_default=argparse.SUPPRESS,
    )
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"TOML file of settings, keyed by long flag name (max-room-size = 32) [{CONFIG_VAR}]",
    )
    for flag in FLAGS:
        p.add_argument(
            f"--{flag.name}",
            type=flag.parse,
            choices=flag.choices or None,
            action="append" if flag.repeatable else "store",
            metavar="FILE" if flag.secret_file else None,
            help=f"{flag.help} [{flag.var}]",
        )
    p.add_argument(
        "--check-turn",
        action="store_true",
        help="allocate a relay through each --turn-url with fresh credentials, say whether TURN works"
        " and why not, and exit: 0 if every URL works, 1 if not (docs/operations.md)",
    )
    p.add_argument("--version", action="version", version=f"voxroom-server {_D.version}")
    return p


def _read_config_file(p: argparse.ArgumentParser, path: Path) -> dict[str, object]:
    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        p.error(f"cannot read the config file {path}: {exc.strerror}")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        p.error(f"config file {path}: {exc}")
    for key in settings:
        if key not in _BY_NAME:
            near = difflib.get_close_matches(key.replace("_", "-"), _BY_NAME, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else " (the keys are the long flag names)"
            p.error(f"config file {path}: unknown setting {key!r}{hint}")
    return settings


def _file_texts(p: argparse.ArgumentParser, flag: _Flag, value: object, where: str) -> list[str]:
    """A TOML value as the text a flag would be given, so one parser checks every source."""
    if flag.repeatable and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).split() if flag.repeatable else [str(value)]
    p.error(f"{where}: must be a string or a number{' or a list of strings' if flag.repeatable else ''}")


def _parse(p: argparse.ArgumentParser, flag: _Flag, texts: list[str], where: str) -> object:
    values = []
    for text in texts:
        if flag.choices and text not in flag.choices:
            p.error(f"{where}: {text!r} is not one of {', '.join(flag.choices)}")
        try:
            values.append(flag.parse(text))
        except argparse.ArgumentTypeError as exc:
            p.error(f"{where}: {text!r} {exc}")
        except ValueError:
            p.error(f"{where}: invalid value {text!r}")
    return tuple(values) if flag.repeatable else values[0]


def _where(flag: _Flag, source: Source, config_path: Path | None) -> str:
    match source:
        case Source.COMMAND_LINE:
            return f"--{flag.name}"
        case Source.ENVIRONMENT:
            return flag.var
        case Source.FILE:
            return f"{config_path}: {flag.name}"
