"""The main window: the login form, then the room, in one window that remembers its size.

It also owns push-to-talk: the configured key is watched application-wide
(while this window is active; only in push-to-talk, since a filter on the
whole application sees every event of every object, and PySide makes a
Python wrapper, type and enums for each, which was half the time of the
first paint), so it works whichever control has focus, and,
while we are in a room, from the desktop (``GlobalPushToTalk``) while other
windows have focus. Both sources feed one held/released state, so a key seen
by both moves it once.

The room view and the settings dialog are built on first use (the room at
the first join), not with the window: the login window needs neither, and
importing and building the room took several times as long as the rest of
the window (docs/benchmarks.md, the app's start); the first join pays it.
"""

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QMainWindow, QStackedWidget, QWidget

from ..engine import events
from ..engine.shapes import TalkMode
from . import icons
from .bridge import Bridge, JoinFailure, JoinRequest
from .global_ptt import GlobalPushToTalk
from .login import LoginView, normalize_server
from .preferences import AudioSettings, LoginValues, Preferences
from .status import NoticeKind

if TYPE_CHECKING:  # built on first use (``room``, ``open_settings``), so imported there
    from .room import RoomView
    from .settings import SettingsDialog


class MainWindow(QMainWindow):
    closed = Signal()
    kept_in_tray = Signal()  # closed while the call goes on in the tray
    room_made = Signal()
    """The room view now exists (``room``): connect what watches its widgets."""

    def __init__(
        self,
        bridge: Bridge,
        prefs: Preferences,
        login: LoginValues | None = None,
        parent: QWidget | None = None,
        global_ptt: GlobalPushToTalk | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.prefs = prefs
        self.setWindowTitle("Voxroom")
        self.setWindowIcon(icons.app_icon())
        self.setMinimumSize(420, 420)
        self.login = LoginView(login or prefs.login())
        self.stack = QStackedWidget()
        self.stack.addWidget(self.login)
        self.setCentralWidget(self.stack)
        self._room: RoomView | None = None
        self.settings_dialog: SettingsDialog | None = None
        self._ptt_down = False
        self.tray_shown = False
        """Whether a tray icon is there to come back from (the tray sets it)."""
        self._quitting = False
        self.global_ptt = global_ptt or GlobalPushToTalk(parent=self)
        self.global_ptt.changed.connect(self._set_ptt)
        self.global_ptt.limitation_changed.connect(self._ptt_limited)

        self.login.submitted.connect(self._submit)
        self.login.server.editingFinished.connect(self._server_edited)
        bridge.joining.connect(self._build_room)
        bridge.joining.connect(lambda: self.login.set_busy(True))
        bridge.join_failed.connect(self._join_failed)
        bridge.joined.connect(self._joined)
        bridge.hosting.connect(self._hosting)
        bridge.left.connect(self._left)
        self.login.settings_requested.connect(self.open_settings)

        geometry = prefs.geometry("main")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(960, 640)
        self._reading_keys = False
        self._read_keys()

    @property
    def room(self) -> "RoomView":
        """The room view, built at its first use (the first join, at the latest)."""
        if self._room is None:
            from .room import RoomView

            self._room = room = RoomView(self.bridge, self.prefs)
            self.stack.addWidget(room)
            room.calls.leave_requested.connect(self.bridge.leave)
            room.calls.settings_requested.connect(self.open_settings)
            splitter = self.prefs.geometry("splitter")
            if splitter is not None:
                room.splitter.restoreState(splitter)
            self.room_made.emit()
        return self._room

    def _build_room(self) -> None:
        """At a join's start, so that the room's slots see all of its events."""
        self.room  # noqa: B018 - built by being asked for

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
        self._watch_ptt()
        self.setWindowTitle(window_title(self.room.room_name, self.room.server_name))

    def _hosting(self, address: str) -> None:
        self.login.show_hosting(address)
        self.room.notice.say(
            self.tr("You are hosting. Others can join at {address}").format(address=address),
            NoticeKind.INFO,
            self.tr("Dismiss"),
        )

    def _left(self) -> None:
        self.stack.setCurrentWidget(self.login)
        self._watch_ptt()
        self.setWindowTitle("Voxroom")

    def open_settings(self) -> "SettingsDialog":
        if self.settings_dialog is None:
            from .settings import SettingsDialog

            self.settings_dialog = SettingsDialog(self.bridge, self.prefs, self)
            self.settings_dialog.applied.connect(self._settings_applied)
        self.settings_dialog.load(self.bridge.settings)
        self.settings_dialog.show_ptt_limitation(self.global_ptt.limitation)
        self.settings_dialog.show()
        self.settings_dialog.raise_()
        return self.settings_dialog

    def _read_keys(self) -> None:
        """Filter the application's events for the key while push-to-talk is the talk mode, else not."""
        wanted = self.bridge.settings.options.talk_mode is TalkMode.PUSH_TO_TALK
        app = QApplication.instance()
        if app is None or wanted == self._reading_keys:
            return
        self._reading_keys = wanted
        if wanted:
            app.installEventFilter(self)
        else:
            app.removeEventFilter(self)

    def _settings_applied(self, settings: AudioSettings) -> None:
        self.prefs.save_audio(settings)
        self.bridge.apply_settings(settings)
        if self._room is not None:  # else it shows the bridge's settings when built
            self._room.calls.show_settings(settings)
        self._read_keys()
        self._watch_ptt()

    def _watch_ptt(self) -> None:
        """Watch the key outside the window only in a room, in push-to-talk: no keys are read otherwise."""
        settings = self.bridge.settings
        wanted = settings.options.talk_mode is TalkMode.PUSH_TO_TALK and self.bridge.in_room
        self.global_ptt.watch(settings.ptt_key if wanted else None)
        if not wanted:
            self._set_ptt(False)

    def _ptt_limited(self, limitation: str) -> None:
        if limitation:
            self.room.notice.say(limitation, NoticeKind.INFO, self.tr("Dismiss"))
        if self.settings_dialog is not None:
            self.settings_dialog.show_ptt_limitation(limitation)

    def _set_ptt(self, down: bool) -> None:
        if down != self._ptt_down:
            self._ptt_down = down
            self.bridge.set_push_to_talk(down)

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
                self._set_ptt(kind == QEvent.Type.KeyPress)
                return True
        return False

    def bring_back(self) -> None:
        """Show the window again (from the tray), in front."""
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def quit(self) -> None:
        """Close for good, whatever the tray setting says."""
        self._quitting = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.prefs.save_geometry("main", self.saveGeometry())
        if self._room is not None:  # else the saved divider stays as it was
            self.prefs.save_geometry("splitter", self._room.splitter.saveState())
        if (
            self.tray_shown
            and self.bridge.settings.keep_in_tray
            and self.bridge.in_room
            and not self._quitting
        ):
            event.ignore()  # the call goes on; the tray's menu shows the window again or quits
            self.hide()
            self.kept_in_tray.emit()
            return
        super().closeEvent(event)
        self.global_ptt.close()
        self.closed.emit()


def window_title(room: str, server: str) -> str:
    """``ROOM on SERVER — Voxroom``, shown as written: Qt would hide a ``[*]`` in a title
    (its placeholder for unsaved changes) unless doubled."""
    title = QCoreApplication.translate("MainWindow", "{room} on {server} — Voxroom")
    return title.format(room=room, server=server).replace("[*]", "[*][*]")
