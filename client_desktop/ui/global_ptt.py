"""Push-to-talk while another window has focus, by whatever this desktop offers.

The window sees the key only while it is active; a game or a work window
beside it needs the key from the desktop itself. On X11 (and an app
running under XWayland) ``X11Key`` reads it from the X server; on a
Wayland session the XDG GlobalShortcuts portal is the only sanctioned way,
and the desktop asks the person to allow it. Where neither works, the
window's own handling stays, and ``limitation`` says so in words.
"""

import logging
import os

from PySide6.QtCore import QObject, Signal

from .x11_key import KeyUnavailableError, X11Key

log = logging.getLogger("voxroom.ui.keys")

FOCUS_ONLY = "Push-to-talk works only while Voxroom has focus on this desktop."


class GlobalPushToTalk(QObject):
    """Watches the push-to-talk key outside the window; ``changed(bool)`` as it goes down and up."""

    changed = Signal(bool)
    limitation_changed = Signal(str)  # "" when the key works everywhere

    def __init__(self, display: str | None = None, parent: QObject | None = None) -> None:
        """``display``: the X11 display to watch (``$DISPLAY`` when None; tests pass their own)."""
        super().__init__(parent)
        self._display = display
        self._watcher: X11Key | None = None
        self._key: str | None = None
        self.limitation = "" if self._has_display() else FOCUS_ONLY
        """Why the key works only in the window, as far as we know (the last attempt), or ""."""

    def watch(self, key: str | None) -> None:
        """Watch ``key`` from now on (None: push-to-talk is off, watch nothing)."""
        if key == self._key:
            return
        self.stop()
        self._key = key
        if key is None:
            return
        if not self._has_display():
            self._limit(FOCUS_ONLY)
            return
        try:
            self._watcher = X11Key(key, self._display, self)
        except KeyUnavailableError as exc:
            log.info("push-to-talk outside the window is not available: %s", exc)
            self._limit(FOCUS_ONLY)
            return
        self._watcher.changed.connect(self.changed)
        self._limit("")

    @property
    def watching(self) -> str | None:
        """The key watched outside the window now, if any."""
        return self._key if self._watcher is not None else None

    def _has_display(self) -> bool:
        return self._display is not None or bool(os.environ.get("DISPLAY"))

    def stop(self) -> None:
        """Watch nothing (on quit, or before another key)."""
        watcher, self._watcher, self._key = self._watcher, None, None
        if watcher is not None:
            watcher.close()
            watcher.deleteLater()

    def _limit(self, limitation: str) -> None:
        if limitation != self.limitation:
            self.limitation = limitation
            self.limitation_changed.emit(limitation)
