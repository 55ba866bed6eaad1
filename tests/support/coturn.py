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
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from .ports import free_port

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.05
RELAY_PORTS = 100
"""Relay ports per instance: plenty for a few calls, and instances rarely share a range."""


class Coturn:
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
        if shutil.which("turnserver") is None:
            raise RuntimeError(
                "coturn is not installed: run ./dev test (it installs it) or apt-get install coturn"
            )
        if (cert is None) != (key is None):
            raise ValueError("TLS needs both cert and key")
        self.tmp, self.secret, self.listen_ip, self.realm = tmp, secret, listen_ip, realm
        self.relay_ip = relay_ip or listen_ip
        self.tls = cert is not None
        self.port = port or free_port()
        self.tls_port = (tls_port or free_port()) if self.tls else None
        self.prefix = tuple(prefix)
        self.config_path = tmp / "turnserver.conf"
        self.log_path = tmp / "turnserver.log"
        self.pid_path = tmp / "turnserver.pid"
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
        self.config_path.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None
        self._stdout = tmp / "turnserver.stdout"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    @property
    def urls(self) -> list[str]:
        """UDP, TCP, then TLS (if on): the order ``--turn-url`` takes them in."""
        host = f"{self.listen_ip}:{self.port}"
        urls = [f"turn:{host}", f"turn:{host}?transport=tcp"]
        if self.tls:
            urls.append(f"turns:{self.listen_ip}:{self.tls_port}?transport=tcp")
        return urls

    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Start it and return once every listener is open; stopped and raised with its log if not."""
        if self.running:
            raise RuntimeError("coturn is already running")
        self.log_path.unlink(missing_ok=True)
        with self._stdout.open("ab") as out:
            self.proc = subprocess.Popen(
                [*self.prefix, "turnserver", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_listening(time.monotonic() + timeout_s)
        except BaseException:
            self.kill()
            raise

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

    def _wait_listening(self, deadline: float) -> None:
        assert self.proc is not None
        wanted = self._expected()
        while time.monotonic() < deadline:
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            if all(w.search(log) for w in wanted):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"coturn exited with {self.proc.returncode}:\n{self.log_tail()}")
            time.sleep(POLL_S)
        raise RuntimeError(f"coturn did not open its listeners in time:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM, SIGKILL if it lingers, and wait; idempotent."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL now: a relay that dies mid-call."""
        self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.pid_path.unlink(missing_ok=True)

    def restart(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Stop it if it runs and start it again on the same ports with the same config."""
        self.stop()
        self.start(timeout_s)

    def log_tail(self, lines: int = 40) -> str:
        """The end of its log (and of its stdout, where it complains before the log opens)."""
        text = ""
        for path in (self._stdout, self.log_path):
            if path.exists():
                text += path.read_text(errors="replace")
        kept = [line for line in text.splitlines() if line.strip() not in ("", "0: :")]
        return "\n".join(kept[-lines:])

    def __enter__(self) -> "Coturn":
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
