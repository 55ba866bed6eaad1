"""A private Janus media server with a generated config, locked down as an operator would run it.

FIELD-NOTES, "Servers the tests start": Debian's ``janus`` service does not
start here, and its config can only *disable* plugins, not pick them. So
``janus`` runs in the foreground with everything in a temporary folder: its
``plugins_folder`` and ``transports_folder`` hold symlinks to just the
plugins asked for and the WebSockets transport, and the event handler and
logger folders are empty. Every request must carry the API secret and/or a
token (HMAC-signed, made by ``signaling_server.janus.signed_token``); the admin API is
off; rooms are created through the API only (with ``admin_key`` if one is set).

Janus gathers no ICE candidates on loopback (FIELD-NOTES), so it runs in a
network namespace with a 198.18.x address (``netns``), gathers on that
address only, and its WebSocket listens there. ``ready`` therefore asks from
inside the namespace: a socket made by a thread that entered it
(``netns_socket``), with which it completes a WebSocket handshake and an
``info`` request, so started means answering.
"""

import ctypes
import json
import random
import socket
import threading
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from websockets.exceptions import WebSocketException
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from .daemon import Daemon, require
from .ports import free_port

LIBDIR = Path("/usr/lib/x86_64-linux-gnu/janus")
SUBPROTOCOL = "janus-protocol"
RTP_PORTS = 200
"""Media ports per instance: one per peer connection (bundled, rtcp-mux), enough for 100."""
PROBE_TIMEOUT_S = 1.0
CLONE_NEWNET = 0x40000000


class Plugin(StrEnum):
    """The plugins a test may load: the value is its package name, as ``attach`` names it."""

    VIDEOROOM = "janus.plugin.videoroom"
    AUDIOBRIDGE = "janus.plugin.audiobridge"

    @property
    def library(self) -> str:
        return f"libjanus_{self.value.rsplit('.', 1)[1]}.so"


def netns_socket(netns: str | None, address: tuple[str, int], timeout_s: float) -> socket.socket:
    """A TCP socket connected to ``address`` from inside network namespace ``netns`` (None: ours).

    A network namespace is entered per thread (setns(2)), and a socket stays
    in the namespace it was made in: so a short-lived thread enters it and
    connects, and the socket is then usable anywhere in this process. Needs
    root. Python 3.11 has no ``os.setns``, hence libc.
    """
    if netns is None:
        return socket.create_connection(address, timeout_s)
    made: list[socket.socket] = []
    failed: list[BaseException] = []

    def enter_and_connect() -> None:
        try:
            with open(f"/run/netns/{netns}", "rb") as handle:
                libc = ctypes.CDLL(None, use_errno=True)
                if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {netns}")
            made.append(socket.create_connection(address, timeout_s))
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=enter_and_connect, name=f"netns-{netns}")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return made[0]


class Janus(Daemon):
    """Janus 1.1 with only the WebSockets transport and ``plugins``, in ``tmp``.

    Args:
        tmp: a folder for its configs, plugin links and output (the caller removes it).
        ip: where its WebSocket listens and the only address it gathers ICE candidates on.
        plugins: the plugins it loads.
        api_secret: every request must carry it as ``apisecret`` (None: no API secret).
        token_secret: every request must carry a token signed with it (None: no token auth).
        admin_key: what creating a room needs besides the API secret (None: the API secret is enough).
        netns: the network namespace it runs in (``ip netns exec``), None for this one.
        port: its WebSocket port; ``free_port()`` if None.
        session_timeout_s: a session with no request for this long is destroyed.
    """

    name = "janus"
    noise: ClassVar[frozenset[str]] = frozenset({""})

    def __init__(
        self,
        tmp: Path,
        *,
        ip: str,
        plugins: Sequence[Plugin],
        api_secret: str | None,
        token_secret: str | None,
        admin_key: str | None = None,
        netns: str | None = None,
        port: int | None = None,
        session_timeout_s: int = 60,
    ) -> None:
        require("janus", "janus")
        if api_secret is None and token_secret is None:
            raise ValueError("Janus must require an API secret, a token, or both")
        super().__init__(tmp)
        self.ip, self.netns, self.plugins = ip, netns, tuple(plugins)
        self.api_secret, self.token_secret, self.admin_key = api_secret, token_secret, admin_key
        self.port = port or free_port()
        self.rtp_ports = (first := random.randrange(20000, 60000 - RTP_PORTS), first + RTP_PORTS - 1)
        self._link_modules()
        self._write_configs(session_timeout_s)

    @property
    def url(self) -> str:
        return f"ws://{self.ip}:{self.port}"

    @property
    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns] if self.netns else []

    def _link_modules(self) -> None:
        """Folders of symlinks to just the wanted modules: Janus loads every library in its folders."""
        wanted = {
            "plugins": [p.library for p in self.plugins],
            "transports": ["libjanus_websockets.so"],
            "events": [],
            "loggers": [],
        }
        for folder, libraries in wanted.items():
            (self.tmp / folder).mkdir(exist_ok=True)
            for library in libraries:
                (self.tmp / folder / library).symlink_to(LIBDIR / folder / library)

    def _write_configs(self, session_timeout_s: int) -> None:
        auth = [f"api_secret = {_q(self.api_secret)}"] if self.api_secret else []
        if self.token_secret:
            auth += ["token_auth = true", f"token_auth_secret = {_q(self.token_secret)}"]
        folders = [f"{folder}_folder = {_q(str(self.tmp / folder))}" for folder in ("plugins", "transports")]
        folders += [f"{folder}_folder = {_q(str(self.tmp / folder))}" for folder in ("events", "loggers")]
        self.write_config(
            "janus.jcfg",
            [
                "general: {",
                f"configs_folder = {_q(str(self.tmp))}",
                *folders,
                f"interface = {_q(self.ip)}",  # the address in its SDP (else it guesses 127.0.0.1)
                "log_to_stdout = true",
                "debug_level = 4",
                "debug_colors = false",
                *auth,
                f"session_timeout = {session_timeout_s}",
                'server_name = "voxroom-test"',
                "hide_dependencies = true",
                "}",
                f'media: {{ rtp_port_range = "{self.rtp_ports[0]}-{self.rtp_ports[1]}" }}',
                # Gather on the namespace's address only; without it libnice would offer every
                # interface it finds (and none at all on loopback).
                f"nat: {{ ice_enforce_list = {_q(self.ip)} ignore_mdns = true nice_debug = false }}",
                "plugins: { }",
                "transports: { }",
                "events: { broadcast = false }",
                "loggers: { }",
            ],
        )
        self.write_config(
            "janus.transport.websockets.jcfg",
            [
                "general: {",
                'json = "plain"',
                "ws = true",
                f"ws_port = {self.port}",
                f"ws_ip = {_q(self.ip)}",
                "wss = false",
                'ws_logging = "err,warn"',
                "}",
                "admin: { admin_ws = false admin_wss = false }",
            ],
        )
        for plugin in self.plugins:
            # No rooms from the file, and none created without admin_key when there is one.
            general = "lock_rtp_forward = true events = false"
            if self.admin_key is not None:
                general += f" admin_key = {_q(self.admin_key)}"
            self.write_config(f"{plugin.value}.jcfg", [f"general: {{ {general} }}"])

    def command(self) -> Sequence[str]:
        return [*self.prefix, "janus", "-C", str(self.tmp / "janus.jcfg"), "-F", str(self.tmp)]

    def ready(self) -> bool:
        """Its WebSocket completes a handshake and answers ``info`` (which needs no secret)."""
        try:
            sock = netns_socket(self.netns, (self.ip, self.port), PROBE_TIMEOUT_S)
        except OSError:
            return False
        try:
            with connect(
                self.url, sock=sock, subprotocols=[Subprotocol(SUBPROTOCOL)], open_timeout=PROBE_TIMEOUT_S
            ) as ws:
                ws.send(json.dumps({"janus": "info", "transaction": "ready"}))
                return bool(json.loads(ws.recv(PROBE_TIMEOUT_S)).get("janus") == "server_info")
        except (OSError, TimeoutError, WebSocketException):
            return False


def _q(value: str) -> str:
    """A libconfig string literal."""
    return json.dumps(value)
