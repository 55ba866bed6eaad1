"""A private coturn TURN server with a generated config, as an operator would run it.

FIELD-NOTES, "Servers the tests start": Debian's ``coturn`` package installs
``turnserver``, but its service does not start here, and a test wants its own
ports, secret and log anyway. So ``turnserver -c FILE`` runs in the
foreground with everything in a temporary folder (log, pid file, SQLite
database: left alone, it would share ``/var/lib/turn/turndb`` with every
other instance) and is stopped by its PID.

Started means its log says each listener opened (it logs them only in
verbose mode): the log works inside a network namespace, where the port is
out of this process's reach. coturn binds with ``SO_REUSEPORT``, so a port
taken by another coturn does not fail; ports come from ``free_port``.
"""

import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from .daemon import Daemon, require
from .ports import free_port

RELAY_PORTS = 100
"""Relay ports per instance: plenty for a few calls, and instances rarely share a range."""


class Coturn(Daemon):
    """coturn with ``use-auth-secret`` (the credentials ``--turn-secret`` makes), in ``tmp``.

    Args:
        tmp: a folder for its config, log, pid file and database (the caller removes it).
        secret: its ``static-auth-secret``.
        listen_ip: where it listens (and relays, unless ``relay_ip``).
        port: its UDP and TCP port; ``free_port()`` if None.
        tls_port: its TLS port, only with ``cert`` and ``key``; ``free_port()`` if None then.
        cert, key: PEM files; TLS is off without them.
        relay_ip: the address its relayed traffic comes from.
        prefix: runs it behind this, e.g. ``["ip", "netns", "exec", "vx-pub"]``.
        realm: its realm (clients learn it from the 401 challenge).
        extra: more config lines, e.g. ``["denied-peer-ip=10.0.0.0-10.255.255.255"]``.

    Loopback peers are allowed when it listens on a 127.x address: a test's
    peers are there too.
    """

    name = "coturn"
    noise: ClassVar[frozenset[str]] = frozenset({"", "0: :"})

    def __init__(
        self,
        tmp: Path,
        *,
        secret: str,
        listen_ip: str = "127.0.0.1",
        port: int | None = None,
        tls_port: int | None = None,
        cert: Path | None = None,
        key: Path | None = None,
        relay_ip: str | None = None,
        prefix: Sequence[str] = (),
        realm: str = "voxroom.test",
        extra: Sequence[str] = (),
    ) -> None:
        require("turnserver", "coturn")
        if (cert is None) != (key is None):
            raise ValueError("TLS needs both cert and key")
        self.tmp, self.secret, self.listen_ip, self.realm = tmp, secret, listen_ip, realm
        self.relay_ip = relay_ip or listen_ip
        self.tls = cert is not None
        self.port = port or free_port()
        self.tls_port = (tls_port or free_port()) if self.tls else None
        self.prefix = tuple(prefix)
        super().__init__(tmp, pid_path=tmp / "turnserver.pid")
        self.log_path = tmp / "turnserver.log"
        min_port = random.randrange(20000, 60000 - RELAY_PORTS)
        lines = [
            "use-auth-secret",
            f"static-auth-secret={secret}",
            f"realm={realm}",
            f"listening-ip={listen_ip}",
            f"listening-port={self.port}",
            f"relay-ip={self.relay_ip}",
            f"min-port={min_port}",
            f"max-port={min_port + RELAY_PORTS - 1}",
            "fingerprint",
            "no-cli",
            "no-rfc5780",  # no alternative listeners on port + 1
            "no-dtls",
            "no-software-attribute",
            "verbose",  # the "listener opened" lines that say it is ready
            f"log-file={self.log_path}",
            "simple-log",
            "no-stdout-log",
            f"pidfile={self.pid_path}",
            f"userdb={tmp / 'turndb'}",
        ]
        if self.tls:
            lines += [f"tls-listening-port={self.tls_port}", f"cert={cert}", f"pkey={key}"]
        else:
            lines.append("no-tls")
        if listen_ip.startswith("127.") or self.relay_ip.startswith("127."):
            lines.append("allow-loopback-peers")
        lines += extra
        self.config_path = self.write_config("turnserver.conf", lines)

    @property
    def urls(self) -> list[str]:
        """UDP, TCP, then TLS (if on): the order ``--turn-url`` takes them in."""
        host = f"{self.listen_ip}:{self.port}"
        urls = [f"turn:{host}", f"turn:{host}?transport=tcp"]
        if self.tls:
            urls.append(f"turns:{self.listen_ip}:{self.tls_port}?transport=tcp")
        return urls

    def command(self) -> Sequence[str]:
        return [*self.prefix, "turnserver", "-c", str(self.config_path)]

    def prepare(self) -> None:
        self.log_path.unlink(missing_ok=True)

    def logs(self) -> Sequence[Path]:
        return (self.output_path, self.log_path)

    def ready(self) -> bool:
        """Its log says each listener opened: this works inside a network namespace too."""
        log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return all(w.search(log) for w in self._expected())

    def _expected(self) -> list[re.Pattern[str]]:
        tcp = "TLS/TCP" if self.tls else "TCP"
        host = re.escape(self.listen_ip)
        wanted = [
            re.compile(rf"UDP listener opened on: {host}:{self.port}\b"),
            re.compile(rf"{tcp} listener opened on : {host}:{self.port}\b"),
        ]
        if self.tls:
            wanted.append(re.compile(rf"TLS/TCP listener opened on : {host}:{self.tls_port}\b"))
        return wanted
