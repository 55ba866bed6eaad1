"""A test-only remote control (``voxroom --test-driver``), in the style of qutebrowser's e2e tests.

It prints one ``VOXROOM {json}`` line on stdout for each thing the UI shows
(a chat line appearing, a person joining, a speaking light turning on) and
reads commands on stdin that act on the widgets as a person would (typing
and pressing Enter, clicking Mute, saving a screenshot). End-to-end tests
run the real app as a subprocess and wait for these lines.

Timing events carry ``t`` (``time.time()``, for a launcher's clock) and
``mono`` (``time.monotonic()``): ``ready`` once the first window has been
painted and the event loop is idle again (the window is usable), and
``room-shown`` once the room, with the history it arrived with, has been
painted after a ``joined`` (``after_joined_ms`` counts from the moment the
server's answer reached the bridge).

Commands: ``say TEXT`` · ``click mute|deafen|voice|people`` · ``resize W H``
· ``palette dark|light`` · ``shot PATH`` (the window) · ``shot-settings PATH`` · ``quit``.
"""

import json
import os
import sys
import time
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSocketNotifier, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from protocol import Peer

from ..engine import events
from . import style
from .window import MainWindow

PREFIX = "VOXROOM "


def emit(event: str, **fields: Any) -> None:
    print(PREFIX + json.dumps({"event": event, **fields}), flush=True)


class TestDriver(QObject):
    def __init__(self, window: MainWindow, app: QApplication) -> None:
        super().__init__(window)
        self.window = window
        self.app = app
        self._speaking: set[str] = set()
        self._buffer = b""
        self._ready = False
        self._room_pending = False
        window.bridge.join_failed.connect(
            lambda code, message: emit("join-failed", code=code, message=message)
        )
        window.room_made.connect(self._room_made)
        self._notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._readable)
        window.installEventFilter(self)

    def _room_made(self) -> None:
        """Watch the room once the window has built it (at the first join, or when asked for)."""
        room, bridge = self.window.room, self.window.bridge
        # connected after the room's own slots, so what is logged is what the widgets already show
        bridge.joined.connect(self._joined)
        bridge.hosting.connect(
            lambda address: emit("hosting", address=address, notice=room.notice.label.text())
        )
        bridge.peer_arrived.connect(lambda p: self._peer("peer-joined", p))
        bridge.peer_updated.connect(lambda p: self._peer("peer-changed", p))
        bridge.self_changed.connect(lambda p: self._peer("self-changed", p))
        bridge.peer_departed.connect(lambda pid: emit("peer-left", id=pid))
        bridge.chat_received.connect(self._chat)
        bridge.chat_queued.connect(lambda nonce, text: emit("chat-pending", text=text, nonce=nonce))
        bridge.levels.connect(self._levels)
        bridge.audio_failed.connect(lambda _m: emit("notice", text=room.notice.label.text()))
        bridge.connection_lost.connect(lambda _r, _s: emit("status", text=room.status.label.text()))
        room.chat.browser.viewport().installEventFilter(self)

    # --- timing -----------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """On a paint, stamp once this round of events is over (a 0 ms timer runs after it)."""
        if event.type() == QEvent.Type.Paint:
            if not self._ready and watched is self.window:
                self._ready = True
                QTimer.singleShot(0, self._stamp_ready)
            elif (
                self._room_pending
                and watched is self.window.room.chat.browser.viewport()
                and not self.window.room.chat.render_pending
            ):
                self._room_pending = False
                QTimer.singleShot(0, self._stamp_room)
        return False

    def _stamp_ready(self) -> None:
        emit("ready", t=time.time(), mono=time.monotonic())

    def _stamp_room(self) -> None:
        now = time.monotonic()
        joined_at = self.window.bridge.joined_at
        after_ms = None if joined_at is None else round((now - joined_at) * 1000, 1)
        shown = len(self.window.room.chat.lines())
        emit("room-shown", t=time.time(), mono=now, after_joined_ms=after_ms, lines=shown)

    # --- what the UI shows ------------------------------------------------------

    def _joined(self, event: events.RoomJoined) -> None:
        users = self.window.room.users
        names = [p.username for pid in users.order() if (p := users.peer(pid)) is not None]
        emit("joined", room=event.room, users=names, resumed=event.resumed)
        self._room_pending = True

    def _peer(self, kind: str, peer: Peer) -> None:
        shown = self.window.room.users.peer(peer.id)
        emit(kind, name=peer.username, listed=shown == peer, muted=peer.muted, voice=peer.voice)

    def _chat(self, event: events.ChatReceived) -> None:
        from .chat_view import Delivered  # loaded with the room by now

        shown = any(line.key == Delivered(event.chat.id) for line in self.window.room.chat.lines())
        emit("chat", username=event.chat.username, text=event.chat.text, own=event.own, shown=shown)

    def _levels(self, _event: events.LevelsChanged) -> None:
        users = self.window.room.users
        speaking = {pid for pid in users.order() if users.is_speaking(pid)}
        for pid in speaking ^ self._speaking:
            peer = users.peer(pid)
            emit("speaking", name=peer.username if peer else pid, on=pid in speaking)
        self._speaking = speaking

    # --- commands -------------------------------------------------------------

    def _readable(self) -> None:
        data = os.read(sys.stdin.fileno(), 65536)
        if not data:
            self._notifier.setEnabled(False)
            return
        self._buffer += data
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            self.run(line.decode().strip())

    def run(self, line: str) -> None:
        command, _, rest = line.partition(" ")
        if command == "say":
            composer = self.window.room.chat.composer
            composer.setPlainText(rest)
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                key = QKeyEvent(kind, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier)
                QApplication.sendEvent(composer, key)
        elif command == "click":
            getattr(self.window.room.calls, rest).click()
        elif command == "resize":
            width, height = (int(v) for v in rest.split())
            self.window.resize(width, height)
        elif command == "shot":
            self.window.grab().save(rest)
        elif command == "shot-settings":
            dialog = self.window.open_settings()
            dialog.adjustSize()
            dialog.grab().save(rest)
        elif command == "palette":
            palette = style.dark_palette() if rest == "dark" else self.app.style().standardPalette()
            style.use_palette(self.app, palette)
        elif command == "quit":
            self.window.close()
        else:
            emit("error", message=f"unknown command {command!r}")
            return
        emit("done", command=command)
