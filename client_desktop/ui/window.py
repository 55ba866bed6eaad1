"""The main window: the login form, then the room, in one window that remembers its size.

It also owns push-to-talk: the configured key is watched application-wide
(while this window is active), so it works whichever control has focus.
"""

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QMainWindow, QStackedWidget, QWidget

from ..engine import events
from ..engine.uplink import TalkMode
from . import icons
from .bridge import Bridge, JoinFailure, JoinRequest
from .login import LoginView, normalize_server
from .preferences import AudioSettings, LoginValues, Preferences
from .room import RoomView
from .settings import SettingsDialog
from .status import NoticeKind


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(
        self,
        bridge: Bridge,
        prefs: Preferences,
        login: LoginValues | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.prefs = prefs
        self.setWindowTitle("Voxroom")
        self.setWindowIcon(icons.app_icon())
        self.setMinimumSize(420, 420)
        self.login = LoginView(login or prefs.login())
        self.room = RoomView(bridge, prefs)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.login)
        self.stack.addWidget(self.room)
        self.setCentralWidget(self.stack)
        self.settings_dialog: SettingsDialog | None = None
        self._ptt_down = False

        self.login.submitted.connect(self._submit)
        self.login.server.editingFinished.connect(self._server_edited)
        bridge.joining.connect(lambda: self.login.set_busy(True))
        bridge.join_failed.connect(self._join_failed)
        bridge.joined.connect(self._joined)
        bridge.hosting.connect(self._hosting)
        bridge.left.connect(self._left)
        self.room.calls.leave_requested.connect(bridge.leave)
        self.room.calls.settings_requested.connect(self.open_settings)
        self.login.settings_requested.connect(self.open_settings)

        geometry = prefs.geometry("main")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(960, 640)
        splitter = prefs.geometry("splitter")
        if splitter is not None:
            self.room.splitter.restoreState(splitter)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def _submit(self, request: JoinRequest) -> None:
        self.prefs.save_login(self.login.values())
        self.bridge.join(request)

    def _server_edited(self) -> None:
        """Another server typed: its last room, unless a room was typed by hand."""
        try:
            room = self.prefs.last_room(normalize_server(self.login.server.text()))
        except ValueError:
            return
        if room is not None and not self.login.room.isModified():
            self.login.room.setText(room)

    def _join_failed(self, _code: JoinFailure, message: str) -> None:
        self.stack.setCurrentWidget(self.login)
        self.login.show_error(message)

    def _joined(self, event: events.RoomJoined) -> None:
        if self.stack.currentWidget() is not self.room:
            self.room.enter(event.room)
            self.stack.setCurrentWidget(self.room)
            self.login.set_busy(False)
        self.setWindowTitle(window_title(self.room.room_name, self.room.server_name))

    def _hosting(self, address: str) -> None:
        self.login.show_hosting(address)
        self.room.notice.say(f"You are hosting. Others can join at {address}", NoticeKind.INFO, "Dismiss")

    def _left(self) -> None:
        self.stack.setCurrentWidget(self.login)
        self.setWindowTitle("Voxroom")

    def open_settings(self) -> SettingsDialog:
        if self.settings_dialog is None:
            self.settings_dialog = SettingsDialog(self.bridge, self)
            self.settings_dialog.applied.connect(self._settings_applied)
        self.settings_dialog.load(self.bridge.settings)
        self.settings_dialog.show()
        self.settings_dialog.raise_()
        return self.settings_dialog

    def _settings_applied(self, settings: AudioSettings) -> None:
        self.prefs.save_audio(settings)
        self.bridge.apply_settings(settings)
        self.room.calls.show_settings(settings)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """Push-to-talk: the configured key held down, anywhere in this window."""
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and isinstance(event, QKeyEvent):
            settings = self.bridge.settings
            if (
                settings.options.talk_mode is TalkMode.PUSH_TO_TALK
                and not event.isAutoRepeat()
                and self.isActiveWindow()
                and QKeySequence(event.keyCombination()).toString() == settings.ptt_key
            ):
                down = kind == QEvent.Type.KeyPress
                if down != self._ptt_down:
                    self._ptt_down = down
                    self.bridge.set_push_to_talk(down)
                return True
        return False

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.prefs.save_geometry("main", self.saveGeometry())
        self.prefs.save_geometry("splitter", self.room.splitter.saveState())
        super().closeEvent(event)
        self.closed.emit()


def window_title(room: str, server: str) -> str:
    """``ROOM on SERVER — Voxroom``, shown as written: Qt would hide a ``[*]`` in a title
    (its placeholder for unsaved changes) unless doubled."""
    return f"{room} on {server} — Voxroom".replace("[*]", "[*][*]")
