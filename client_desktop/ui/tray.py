"""The tray icon: the call's state at a glance and its controls while the window is hidden.

A voice app stays open beside a game for hours; the tray lets the window go
while the call goes on (when the settings say so), and shows whether we are
in a call and muted. Its menu does what the call bar does, through the same
bridge methods, so the bar and the tray can never disagree. Desktops
without a tray (bare X servers, some Wayland shells, offscreen) get no icon,
and closing the window then quits as before.
"""

from enum import Enum
from typing import assert_never

from PySide6.QtCore import QObject, QRectF, Qt
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from protocol import Peer

from . import icons
from .icons import Glyph
from .window import MainWindow


class TrayState(Enum):
    IDLE = "idle"
    """Not in a room."""
    IN_CALL = "in-call"
    MUTED = "muted"
    """Muted, deafened or muted by a moderator: nobody hears us."""


_COLOURS = {TrayState.IDLE: "#757575", TrayState.IN_CALL: "#2e7d32", TrayState.MUTED: "#c62828"}


def tray_icon(state: TrayState) -> QIcon:
    """The app's square in the state's colour: grey outside a room, green in a call, red with a
    crossed microphone when muted, told apart by shape as well as colour."""
    result = QIcon()
    for size in (16, 22, 24, 32, 48, 64):
        pm = QPixmap(size, size)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(_COLOURS[state]))
        p.drawRoundedRect(QRectF(0, 0, size, size), size * 0.22, size * 0.22)
        glyph = icons.pixmap(Glyph.MIC, round(size * 0.7), QColor("white"), state is TrayState.MUTED)
        p.drawPixmap(round(size * 0.15), round(size * 0.15), glyph)
        p.end()
        result.addPixmap(pm)
    return result


def state_of(me: Peer | None) -> TrayState:
    if me is None:
        return TrayState.IDLE
    if me.muted or me.deafened or me.server_muted:
        return TrayState.MUTED
    return TrayState.IN_CALL


class Tray(QObject):
    """The icon and its menu: show, mute, deafen, leave, quit."""

    def __init__(self, window: MainWindow, available: bool | None = None) -> None:
        """``available``: whether the desktop has a tray (asked of Qt when None; tests say it)."""
        super().__init__(window)
        self.window = window
        bridge = window.bridge
        self.available = QSystemTrayIcon.isSystemTrayAvailable() if available is None else available
        self.icon = QSystemTrayIcon(self)
        self.menu = QMenu(window)
        self.show_action = self._action(self.tr("Show Voxroom"), window.bring_back)
        self.menu.addSeparator()
        self.mute = self._action(self.tr("Mute"), bridge.set_muted, checkable=True)
        self.deafen = self._action(self.tr("Deafen"), bridge.set_deafened, checkable=True)
        self.leave = self._action(self.tr("Leave room"), bridge.leave)
        self.menu.addSeparator()
        self.quit = self._action(self.tr("Quit Voxroom"), window.quit)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        for signal in (bridge.joined, bridge.self_changed, bridge.peer_updated, bridge.left):
            signal.connect(self.refresh)
        window.kept_in_tray.connect(self._kept)
        self._told_kept = False
        self.refresh()
        if self.available:
            window.tray_shown = True
            self.icon.show()

    def _action(self, text: str, slot: object, checkable: bool = False) -> QAction:
        action = QAction(text, self.menu)
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.menu.addAction(action)
        return action

    @property
    def _me(self) -> Peer | None:
        bridge = self.window.bridge
        return bridge.me if bridge.in_room else None

    @property
    def state(self) -> TrayState:
        return state_of(self._me)

    def refresh(self, *_changed: object) -> None:
        """Icon, tooltip and menu as the bridge says we are now."""
        me = self._me
        self.icon.setIcon(tray_icon(self.state))
        in_call = me is not None and me.voice
        for action, on in (
            (self.mute, me is not None and me.muted),
            (self.deafen, me is not None and me.deafened),
        ):
            action.blockSignals(True)  # show the state, do not ask for it again
            action.setChecked(on)
            action.blockSignals(False)
            action.setEnabled(in_call)
        self.leave.setEnabled(me is not None)
        self.icon.setToolTip(self.tooltip())

    def tooltip(self) -> str:
        """Plain words; room names are the server's and safe as text (a tray tooltip is not markup)."""
        match self.state:
            case TrayState.IDLE:  # the room view may not be built yet: not read here
                return self.tr("Voxroom: not in a room")
            case TrayState.IN_CALL:
                return self.tr("Voxroom: in a call in {room}").format(room=self.window.room.room_name)
            case TrayState.MUTED:
                return self.tr("Voxroom: muted in {room}").format(room=self.window.room.room_name)
            case unknown:
                assert_never(unknown)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason is QSystemTrayIcon.ActivationReason.Trigger:
            self.window.bring_back()

    def _kept(self) -> None:
        """The window was closed and the call goes on: say so the first time, and how to quit."""
        if not self._told_kept:
            self._told_kept = True
            self.icon.showMessage(
                self.tr("Voxroom is still in the call"),
                self.tr("Mute, leave or quit from this icon's menu."),
                QSystemTrayIcon.MessageIcon.Information,
            )
