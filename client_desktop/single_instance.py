"""One Voxroom per user: a second launch hands its link to the running app and exits.

Without this, clicking a ``voxroom://`` link while the app runs would start
a second window with a second hosted server fighting for port 8765. The
first app listens on a local socket (``QLocalServer``): in
``$XDG_RUNTIME_DIR``, which only this user can enter, else a per-user name
in the temporary folder. A launch first tries to hand off; only if nobody
answers does it become the running app. A lock file around "try, else
listen" makes two launches at the same moment agree on which one runs.

The wire is one JSON line each way: ``{"link": …, "activation_token": …}``
in, ``ok`` back once the running app has taken it. Where ``QLocalServer`` is
a Unix socket (not Windows), a launch hands off through a plain ``socket``,
and the app listens once its window is painted, the lock held until then:
the start imports no QtNetwork (its import and enums were ~20 ms of it).
"""

import getpass
import hashlib
import json
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QLockFile, QObject, Signal

if TYPE_CHECKING:
    from PySide6.QtNetwork import QLocalSocket

HANDOFF_TIMEOUT_MS = 3000
LOCK_TIMEOUT_MS = 5000
MAX_MESSAGE_BYTES = 8192
ACK = b"ok\n"
_UNIX_SOCKET: int | None = getattr(socket, "AF_UNIX", None)
"""What ``QLocalServer`` listens on, where Python can dial it (None: Windows, a named pipe)."""


@dataclass(frozen=True, slots=True)
class Handoff:
    """What a second launch passes on: its link, and the desktop's token for raising a window."""

    link: str | None = None
    activation_token: str | None = None
    """Wayland's ``XDG_ACTIVATION_TOKEN``: without it a compositor may refuse to raise our window."""

    def encode(self) -> bytes:
        return json.dumps({"link": self.link, "activation_token": self.activation_token}).encode() + b"\n"

    @classmethod
    def decode(cls, data: bytes) -> "Handoff":
        """Raises ``ValueError`` on anything but the object ``encode`` writes."""
        value = json.loads(data)
        if not isinstance(value, dict):
            raise ValueError("not a hand-off")
        link, token = value.get("link"), value.get("activation_token")
        if not all(v is None or isinstance(v, str) for v in (link, token)):
            raise ValueError("not a hand-off")
        return cls(link, token)


@dataclass(frozen=True, slots=True)
class Address:
    """Where the running app listens, and the lock that decides who runs."""

    server_name: str
    lock_path: Path

    @classmethod
    def for_user(cls, settings_dir: Path) -> "Address":
        """One app per user and settings folder (two apps on one settings file would overwrite it)."""
        key = hashlib.sha256(str(settings_dir.resolve()).encode()).hexdigest()[:12]
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        if runtime and Path(runtime).is_dir():
            return cls(str(Path(runtime) / f"voxroom-{key}.sock"), Path(runtime) / f"voxroom-{key}.lock")
        name = f"voxroom-{getpass.getuser()}-{key}"
        folder = Path(tempfile.gettempdir())
        # Windows: a bare name, a named pipe's; elsewhere the socket's full path, which a plain socket dials
        server_name = name if _UNIX_SOCKET is None else str(folder / name)
        return cls(server_name, folder / f"{name}.lock")


class NoAnswerError(RuntimeError):
    """A Voxroom is running but did not take the hand-off (it hangs, or is not ours)."""


def hand_off(address: Address, message: Handoff, timeout_ms: int = HANDOFF_TIMEOUT_MS) -> bool:
    """Give ``message`` to the running app; ``False`` when none runs (then this launch should).

    Blocking, before any event loop: a second launch must exit at once.

    Raises:
        NoAnswerError: something listens but did not acknowledge in time.
    """
    if _UNIX_SOCKET is None:
        return _hand_off_by_qt(address, message, timeout_ms)
    with socket.socket(_UNIX_SOCKET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_ms / 1000)
        try:
            sock.connect(address.server_name)
        except OSError:  # no socket, or one a crashed app left behind: nobody runs
            return False
        reply = b""
        try:
            sock.sendall(message.encode())
            while not reply.endswith(b"\n") and len(reply) <= len(ACK) and (chunk := sock.recv(64)):
                reply += chunk
        except OSError as exc:  # no answer in time, or a reset
            raise NoAnswerError(f"Voxroom is already running but did not answer ({exc}).") from exc
    if reply != ACK:
        raise NoAnswerError(f"Voxroom is already running but did not answer (it said {reply!r}).")
    return True


def _hand_off_by_qt(address: Address, message: Handoff, timeout_ms: int) -> bool:
    """``hand_off`` through ``QLocalSocket``, where the server is a named pipe (Windows)."""
    from PySide6.QtNetwork import QLocalSocket

    sock = QLocalSocket()
    sock.connectToServer(address.server_name)
    if not sock.waitForConnected(timeout_ms):
        return False
    sock.write(message.encode())
    sock.waitForBytesWritten(timeout_ms)
    reply = b""
    while not reply.endswith(b"\n"):
        if not sock.bytesAvailable() and not sock.waitForReadyRead(timeout_ms):
            break
        reply += sock.readAll().data()
    sock.disconnectFromServer()
    if reply != ACK:
        raise NoAnswerError(f"Voxroom is already running but did not answer ({sock.errorString()}).")
    return True


class InstanceServer(QObject):
    """The running app's end: emits ``received`` with each launch's ``Handoff``."""

    received = Signal(object)  # Handoff

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        from PySide6.QtNetwork import QLocalServer

        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)

    def listen(self, address: Address) -> bool:
        """Listen, replacing a socket a crashed app left behind (call with the lock held)."""
        self._server.removeServer(address.server_name)
        return self._server.listen(address.server_name)

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while (sock := self._server.nextPendingConnection()) is not None:
            sock.readyRead.connect(lambda s=sock: self._read(s))
            sock.disconnected.connect(sock.deleteLater)
            self._read(sock)  # what arrived with the connection raises no readyRead of its own

    def _read(self, sock: "QLocalSocket") -> None:
        data = bytes(sock.peek(MAX_MESSAGE_BYTES + 1).data())
        if b"\n" not in data:
            if len(data) > MAX_MESSAGE_BYTES:
                sock.abort()
            return
        line = bytes(sock.readLine().data())
        try:
            message = Handoff.decode(line)
        except ValueError:
            sock.abort()
            return
        sock.write(ACK)
        sock.flush()
        self.received.emit(message)


def claim(address: Address, message: Handoff) -> "Claim":
    """Hand off to a running app, or hold the lock so this launch can become the running one.

    Raises:
        NoAnswerError: see ``hand_off``.
    """
    address.lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = QLockFile(str(address.lock_path))
    lock.setStaleLockTime(0)  # only a dead owner makes it stale: a slow start must not be taken over
    locked = lock.tryLock(LOCK_TIMEOUT_MS)  # unlocked (a stuck lock): still try, as if alone
    try:
        handed = hand_off(address, message)
    except BaseException:
        lock.unlock()
        raise
    if handed:
        lock.unlock()
    return Claim(address, lock if locked else None, handed)


@dataclass
class Claim:
    """``handed``: the running app took the message. Else call ``serve`` once Qt is up."""

    address: Address
    lock: QLockFile | None
    handed: bool

    def serve(self, parent: QObject | None = None) -> InstanceServer | None:
        """Start listening and release the lock; ``None`` if listening failed (the app still runs)."""
        server = InstanceServer(parent)
        try:
            return server if server.listen(self.address) else None
        finally:
            self.release()

    def release(self) -> None:
        """Let the next launch decide (this one will not run, or already listens)."""
        if self.lock is not None:
            self.lock.unlock()
            self.lock = None
