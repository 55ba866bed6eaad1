"""A private HAProxy in front of several server instances, as an operator would run it.

TCP mode, so the WebSocket upgrade and every frame pass through untouched;
round robin with no stickiness, so consecutive connections land on
different instances (what a multi-instance server must survive); each
instance's ``/health`` checked every ``CHECK_INTERVAL_MS`` and taken out
after ``FALL`` failures, so a killed instance stops receiving connections
within about half a second. ``option redispatch`` sends a connection that
finds a dead instance before its checks do to another one.

Debian's ``haproxy`` runs in the foreground (``-db``) with its config and
admin socket in a temporary folder; it logs to stdout (``log stdout``: no
syslog here), which goes to a file ``log_tail`` reads. Started means its
port is in the kernel's table of listening sockets: a probe connection would
itself be forwarded to an instance. ``states`` reads each instance's check
state from the admin socket.
"""

import csv
import socket
import time
from collections.abc import Sequence
from pathlib import Path

from protocol import limits

from .daemon import POLL_S, Daemon, require
from .ports import free_port

HOST = "127.0.0.1"
CHECK_INTERVAL_MS = 200
FALL = 2
"""Failed checks that take an instance out: 2 x 200 ms."""
RISE = 2
"""Passed checks that bring it back."""
TUNNEL_TIMEOUT = "1h"
"""An idle WebSocket stays open this long (the server pings far more often)."""
TCP_LISTEN = "0A"
"""The state column of /proc/net/tcp for a listening socket."""


def listening(host: str, port: int) -> bool:
    """Whether an IPv4 socket listens on ``host:port`` in this network namespace."""
    address = f"{int.from_bytes(socket.inet_aton(host), 'little'):08X}:{port:04X}"
    with open("/proc/net/tcp") as table:
        next(table)
        return any(fields[1] == address and fields[3] == TCP_LISTEN for fields in map(str.split, table))


class Haproxy(Daemon):
    """``haproxy`` on 127.0.0.1 balancing TCP connections over ``backends``, its files in ``tmp``.

    Args:
        tmp: a folder for its config, output and admin socket (the caller removes it).
        backends: each instance's address; HAProxy names them ``s0``, ``s1`` … in this order.
        port: where it listens; ``free_port()`` if None. A restart keeps it.
        fall: failed checks that take an instance out (and cut its sessions).
        http: HTTP mode, which adds ``X-Forwarded-For`` so that the servers
            (told ``--trust-proxy``) see each client's address; WebSockets
            pass as tunnels once upgraded. TCP mode shows HAProxy's address.
    """

    name = "haproxy"

    def __init__(
        self,
        tmp: Path,
        backends: Sequence[tuple[str, int]],
        port: int | None = None,
        *,
        fall: int = FALL,
        http: bool = False,
    ) -> None:
        require("haproxy", "haproxy")
        super().__init__(tmp)
        if not backends:
            raise ValueError("HAProxy needs at least one backend")
        self.port = port or free_port()
        self.backends = tuple(backends)
        self.socket_path = tmp / "haproxy.sock"
        servers = [f"    server s{i} {host}:{port}" for i, (host, port) in enumerate(self.backends)]
        lines = [
            "global",
            "    log stdout format raw local0 info",
            "    nbthread 1",  # two cores shared with the servers and the tests
            f"    stats socket {self.socket_path} mode 600 level admin",
            "defaults",
            *(["    mode http", "    option forwardfor"] if http else ["    mode tcp"]),
            "    log global",
            f"    option {'httplog' if http else 'tcplog'}",
            "    option redispatch",
            "    retries 2",
            "    timeout connect 1s",
            "    timeout client 30s",
            "    timeout server 30s",
            f"    timeout tunnel {TUNNEL_TIMEOUT}",
            "    timeout client-fin 1s",
            "    timeout server-fin 1s",
            "frontend voxroom",
            f"    bind {HOST}:{self.port}",
            "    default_backend instances",
            "backend instances",
            "    balance roundrobin",
            # websockets answers HTTP/1.1 only; HAProxy's default check speaks HTTP/1.0.
            "    option httpchk",
            f"    http-check send meth GET uri /health ver HTTP/1.1 hdr Host {HOST}",
            "    http-check expect status 200",
            # A frozen instance's clients would otherwise wait for their ping to time out.
            f"    default-server check inter {CHECK_INTERVAL_MS}ms fall {fall} rise {RISE}"
            " on-marked-down shutdown-sessions",
            *servers,
        ]
        self.config_path = self.write_config("haproxy.cfg", lines)

    @property
    def url(self) -> str:
        """Where clients connect: the servers' WebSocket path, through HAProxy."""
        return f"ws://{HOST}:{self.port}{limits.WS_PATH}"

    def command(self) -> Sequence[str]:
        return ["haproxy", "-db", "-f", str(self.config_path)]

    def ready(self) -> bool:
        return listening(HOST, self.port) and self.socket_path.exists()

    def states(self) -> list[str]:
        """Each backend's check state, in ``backends`` order: ``UP``, ``DOWN``, ``UP 1/2`` (going down) …"""
        with socket.socket(socket.AF_UNIX) as admin:
            admin.settimeout(5)
            admin.connect(str(self.socket_path))
            admin.sendall(b"show stat\n")
            answer = b""
            while chunk := admin.recv(65536):
                answer += chunk
        rows = csv.DictReader(answer.decode().lstrip("# ").splitlines())
        status = {row["svname"]: row["status"] for row in rows if row["pxname"] == "instances"}
        return [status[f"s{i}"] for i in range(len(self.backends))]

    def wait_state(self, index: int, state: str, timeout_s: float = 5.0) -> float:
        """Wait until backend ``index`` is in ``state`` (``"UP"``, ``"DOWN"``); return the seconds it took.

        Raises:
            TimeoutError: it was not, with every backend's state.
        """
        started = time.monotonic()
        while (states := self.states())[index] != state:
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"backend s{index} not {state} in {timeout_s:g} s: {states}")
            time.sleep(POLL_S / 5)
        return time.monotonic() - started
