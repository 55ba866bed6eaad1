"""One key, held or not, seen on an X11 display whichever window has focus.

Push-to-talk in a game needs the key while another window has focus. The X
server tells any client that asks, through XInput 2's raw key events on the
root window: every press and release, delivered *beside* the focused
application's (nothing is grabbed, so the game still gets its key), and,
since XInput 2.1, even while a game grabs the keyboard. python-xlib speaks
the protocol in pure Python; its socket is watched by a ``QSocketNotifier``,
so events are read on Qt's thread, the event loop's, and need no thread of
their own.

Every key reaches us: only the chosen key's code is compared, every other
event is dropped at once, never logged, never kept.
"""

import logging
import struct

from PySide6.QtCore import QObject, QSocketNotifier, Qt, Signal
from PySide6.QtGui import QKeySequence
from Xlib import XK, X
from Xlib.display import Display
from Xlib.error import ConnectionClosedError, DisplayError, XError
from Xlib.ext import ge, xinput

log = logging.getLogger("voxroom.ui.keys")

XI_VERSION = (2, 2)
"""What we announce: from 2.1 on, raw events arrive while another client grabs the keyboard."""

_SPECIAL_KEYSYMS = {
    Qt.Key.Key_Escape: "Escape",
    Qt.Key.Key_Tab: "Tab",
    Qt.Key.Key_Backspace: "BackSpace",
    Qt.Key.Key_Return: "Return",
    Qt.Key.Key_Enter: "KP_Enter",
    Qt.Key.Key_Insert: "Insert",
    Qt.Key.Key_Delete: "Delete",
    Qt.Key.Key_Pause: "Pause",
    Qt.Key.Key_Print: "Print",
    Qt.Key.Key_Home: "Home",
    Qt.Key.Key_End: "End",
    Qt.Key.Key_Left: "Left",
    Qt.Key.Key_Up: "Up",
    Qt.Key.Key_Right: "Right",
    Qt.Key.Key_Down: "Down",
    Qt.Key.Key_PageUp: "Prior",
    Qt.Key.Key_PageDown: "Next",
    Qt.Key.Key_CapsLock: "Caps_Lock",
    Qt.Key.Key_NumLock: "Num_Lock",
    Qt.Key.Key_ScrollLock: "Scroll_Lock",
    Qt.Key.Key_Menu: "Menu",
    Qt.Key.Key_Space: "space",
}


class KeyUnavailableError(Exception):
    """The key cannot be watched here; the message says why in plain words."""


_LATIN1_NAMES = {
    value: name[3:] for name, value in reversed(vars(XK).items()) if name.startswith("XK_") and value <= 0xFF
}
"""Latin-1 keysym to its name, the first name keysymdef gives it (``comma``, not an alias)."""


def keysym_name(key: str) -> str:
    """The X keysym name of a Qt key name: ``F8`` for ``F8``, ``a`` for ``A``, ``comma`` for ``,``.

    The modifiers, if any, are not part of it.

    Raises:
        KeyUnavailableError: the name is not a key X11 knows.
    """
    sequence = QKeySequence(key)
    if sequence.isEmpty():
        raise KeyUnavailableError(f"{key!r} is not a key")
    qt_key: Qt.Key = sequence[0].key()  # type: ignore[index]  # PySide6 6.11's stubs omit operator[]
    if Qt.Key.Key_F1.value <= qt_key.value <= Qt.Key.Key_F35.value:
        return f"F{qt_key.value - Qt.Key.Key_F1.value + 1}"
    if qt_key in _SPECIAL_KEYSYMS:
        return _SPECIAL_KEYSYMS[qt_key]
    if 0x21 <= qt_key.value <= 0xFF:  # Latin-1: Qt's key code is the keysym (letters as lower case)
        code = int(qt_key.value)
        return _LATIN1_NAMES[code + 0x20 if ord("A") <= code <= ord("Z") else code]
    raise KeyUnavailableError(f"{key} cannot be watched outside the window on X11")


def keysym_for(key: str) -> int:
    """The X keysym of a Qt key name such as ``F8`` (its modifiers, if any, are not required).

    Raises:
        KeyUnavailableError: the name is not a key X11 knows.
    """
    return int(XK.string_to_keysym(keysym_name(key)))


class X11Key(QObject):
    """Emits ``changed(True)`` when the key goes down and ``changed(False)`` when it comes up."""

    changed = Signal(bool)

    def __init__(self, key: str, display: str | None = None, parent: QObject | None = None) -> None:
        """Connect to ``display`` (``$DISPLAY`` when None) and start watching ``key``.

        Raises:
            KeyUnavailableError: no X server, no XInput 2, or the key is not on this keyboard.
        """
        super().__init__(parent)
        keysym = keysym_for(key)
        try:
            self._display = Display(display)
        except (DisplayError, ConnectionError, OSError) as exc:
            raise KeyUnavailableError(f"no X11 display ({exc})") from exc
        try:
            self._keycode = self._select(keysym, key)
        except XError as exc:
            self._display.close()
            raise KeyUnavailableError(f"the X server refused: {exc}") from exc
        except KeyUnavailableError:
            self._display.close()
            raise
        self.down = False
        self._notifier = QSocketNotifier(self._display.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._read)
        self._read()  # replies read while setting up may have brought events along

    def _select(self, keysym: int, key: str) -> int:
        d = self._display
        if not d.has_extension(xinput.extname):
            raise KeyUnavailableError("the X server has no XInput extension")
        reply = xinput.XIQueryVersion(
            display=d.display,
            opcode=d.display.get_extension_major(xinput.extname),
            major_version=XI_VERSION[0],
            minor_version=XI_VERSION[1],
        )
        if (reply.major_version, reply.minor_version) < (2, 0):
            raise KeyUnavailableError("the X server's XInput is older than 2.0")
        keycode = d.keysym_to_keycode(keysym)
        if keycode == X.NoSymbol:
            raise KeyUnavailableError(f"{key} is not on this keyboard")
        d.screen().root.xinput_select_events(
            [(xinput.AllMasterDevices, xinput.RawKeyPressMask | xinput.RawKeyReleaseMask)]
        )
        d.sync()
        return int(keycode)

    def _read(self) -> None:
        try:
            while self._display.pending_events():
                event = self._display.next_event()
                if event.type == ge.GenericEventCode and event.evtype in (
                    xinput.RawKeyPress,
                    xinput.RawKeyRelease,
                ):
                    self._raw_key(event.evtype == xinput.RawKeyPress, event.data)
        except ConnectionClosedError:
            log.warning("the X server closed our connection: push-to-talk outside the window stops")
            self._notifier.setEnabled(False)
            self._set(False)

    def _raw_key(self, pressed: bool, data: bytes) -> None:
        # A raw event after its type: deviceid (CARD16), time (CARD32), detail (CARD32, the key code);
        # python-xlib hands it over unparsed, in the byte order it asked the server for (native).
        _device, _time, keycode = struct.unpack_from("=HII", data)
        if keycode == self._keycode:
            self._set(pressed)

    def _set(self, down: bool) -> None:
        if down != self.down:
            self.down = down
            self.changed.emit(down)

    def close(self) -> None:
        """Stop watching and disconnect; a key held now counts as released."""
        self._notifier.setEnabled(False)
        self._set(False)
        self._display.close()
