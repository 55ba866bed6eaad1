"""A D-Bus connection read on Qt's event loop: calls answered through a callback, signals by rule.

The desktop's portals and its notification server speak D-Bus. jeepney is
D-Bus without I/O of its own (an authenticator, a parser, message builders;
pure Python, no dependencies); here its socket is watched by a
``QSocketNotifier``, as ``x11_key`` watches python-xlib's, so replies and
signals arrive on the event loop's thread with no thread of their own and
nothing ever waits for the desktop. (Qt's own QtDBus is left out of the
bundle, and its Python binding cannot build the portal's nested arguments.)
"""

import logging
import socket
from collections.abc import Callable
from itertools import count

from jeepney import HeaderFields, MatchRule, Message, MessageType, Parser
from jeepney.bus import get_bus
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import prep_socket
from jeepney.wrappers import DBusErrorResponse, new_error, unwrap_msg
from PySide6.QtCore import QObject, QSocketNotifier, Signal

log = logging.getLogger("voxroom.ui.dbus")

CONNECT_TIMEOUT_S = 1.0
READ_CHUNK = 65536

Handler = Callable[[Message], None]


class BusUnavailableError(Exception):
    """No session bus here, or it would not let us in; the message says why."""


class BusLink(QObject):
    """One connection to a message bus; ``closed`` when the bus goes away."""

    closed = Signal()

    def __init__(self, address: str = "SESSION", parent: QObject | None = None) -> None:
        """``address``: a D-Bus address (``unix:path=…``), or the session bus of this login.

        Raises:
            BusUnavailableError: no such bus, or it refused us.
        """
        super().__init__(parent)
        try:
            self._sock = prep_socket(get_bus(address), timeout=CONNECT_TIMEOUT_S)  # connected, authenticated
        except (KeyError, OSError, RuntimeError, ValueError) as exc:  # KeyError: no session address
            raise BusUnavailableError(f"no D-Bus session bus ({exc!r})") from exc
        self._parser = Parser()
        self._serials = count(1)
        try:
            self.unique_name: str = self._hello()
        except (OSError, DBusErrorResponse) as exc:
            self._sock.close()
            raise BusUnavailableError(f"the D-Bus session bus did not let us in ({exc!r})") from exc
        self._replies: dict[int, Handler] = {}
        self._signals: list[tuple[MatchRule, Handler]] = []
        self._serve: Handler | None = None
        self._notifier = QSocketNotifier(self._sock.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._read)
        self.is_open = True
        self._dispatch()  # what came along with the answer to Hello

    def _hello(self) -> str:
        """Our unique name, from the bus's answer to Hello: waited for, but not for ever (jeepney's own
        connection would)."""
        self._sock.settimeout(CONNECT_TIMEOUT_S)
        serial = self._send(message_bus.Hello())
        while True:
            msg = self._parser.get_next_message()
            if msg is None:
                data = self._sock.recv(READ_CHUNK)
                if not data:
                    raise ConnectionResetError("the bus closed the connection")
                self._parser.add_data(data)
            elif msg.header.fields.get(HeaderFields.reply_serial) == serial:
                self._sock.settimeout(None)
                return str(unwrap_msg(msg)[0])

    def _send(self, message: Message) -> int:
        serial = next(self._serials)
        self._sock.sendall(message.serialise(serial=serial))
        return serial

    def call(self, message: Message, on_reply: Handler | None = None) -> None:
        """Send ``message``; ``on_reply`` gets its return or its error (``unwrap_msg`` tells which)."""
        serial = self._send(message)
        if on_reply is not None:
            self._replies[serial] = on_reply

    def subscribe(self, rule: MatchRule, handler: Handler) -> None:
        """``handler`` gets each signal that matches ``rule``, from now on (the bus is told at once)."""
        self._signals.append((rule, handler))
        self.call(message_bus.AddMatch(rule))

    def unsubscribe(self, rule: MatchRule) -> None:
        self._signals = [(r, h) for r, h in self._signals if r is not rule]
        self.call(message_bus.RemoveMatch(rule))

    def serve(self, handler: Handler) -> None:
        """Method calls addressed to us go to ``handler`` (which must reply); by default, an error."""
        self._serve = handler

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            self._notifier.setEnabled(False)
            self._sock.close()
            self._replies.clear()

    def _read(self) -> None:
        while self.is_open:
            try:
                data = self._sock.recv(READ_CHUNK, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            except OSError as exc:
                data = b""
                log.info("the D-Bus connection failed: %s", exc)
            if not data:
                self.close()
                self.closed.emit()
                return
            self._parser.add_data(data)
            self._dispatch()

    def _dispatch(self) -> None:
        while self.is_open and (msg := self._parser.get_next_message()) is not None:
            kind = msg.header.message_type
            if kind in (MessageType.method_return, MessageType.error):
                handler = self._replies.pop(msg.header.fields.get(HeaderFields.reply_serial, -1), None)
                if handler is not None:
                    handler(msg)
            elif kind is MessageType.signal:
                for rule, signal_handler in list(self._signals):
                    if rule.matches(msg):
                        signal_handler(msg)
            elif kind is MessageType.method_call:
                if self._serve is not None:
                    self._serve(msg)
                else:
                    self.call(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))
