"""Push-to-talk while another window has focus, by whatever this desktop offers.

The window sees the key only while it is active; a game or a work window
beside it needs the key from the desktop itself. On X11, and for an app
running under XWayland, ``X11Key`` reads it from the X server. A native
Wayland app (or one with no X server to ask) gets it from the XDG
GlobalShortcuts portal (``PortalKey``), and the desktop asks the person to
allow it. Where neither works, the window's own handling stays, and
``limitation`` says so in words.

python-xlib and jeepney are imported at the first ``watch`` of a key, not
with this module: the window makes one at start, and the key is watched only
in a room (docs/benchmarks.md, the desktop app's start).
"""

import logging
import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtGui import QGuiApplication

if TYPE_CHECKING:
    from .dbus_link import BusLink
    from .portal_shortcuts import PortalKey
    from .x11_key import X11Key

log = logging.getLogger("voxroom.ui.keys")


def focus_only() -> str:
    """The one sentence shown where the key works only in the window (it must fit the settings' hint)."""
    return QCoreApplication.translate(
        "GlobalPushToTalk", "Push-to-talk works only while Voxroom has focus on this desktop."
    )


def native_wayland() -> bool:
    """Whether this app is a Wayland client (not an X11 one under XWayland)."""
    return bool(os.environ.get("WAYLAND_DISPLAY")) and QGuiApplication.platformName() == "wayland"


class GlobalPushToTalk(QObject):
    """Watches the push-to-talk key outside the window; ``changed(bool)`` as it goes down and up."""

    changed = Signal(bool)
    limitation_changed = Signal(str)  # "" when the key works everywhere (or may, once the desktop answers)

    def __init__(
        self, display: str | None = None, bus_address: str | None = None, parent: QObject | None = None
    ) -> None:
        """``display``: the X11 display to watch; ``bus_address``: the session bus for the portal
        (``$DISPLAY`` and ``$DBUS_SESSION_BUS_ADDRESS`` when None; tests pass their own)."""
        super().__init__(parent)
        self._display = display
        self._bus_address = bus_address
        self._watcher: X11Key | PortalKey | None = None
        self._bus: BusLink | None = None
        self._key: str | None = None
        self.limitation = "" if self._use_x11() or self._has_bus() else focus_only()
        """Why the key works only in the window, as far as we know (the last attempt), or ""."""

    def watch(self, key: str | None) -> None:
        """Watch ``key`` from now on (None: push-to-talk is off, watch nothing)."""
        if key == self._key:
            return
        self.stop()
        self._key = key
        if key is None:
            return
        from .x11_key import KeyUnavailableError, X11Key

        if self._use_x11():
            try:
                self._watcher = X11Key(key, self._display, self)
            except KeyUnavailableError as exc:
                log.info("push-to-talk outside the window is not available on X11: %s", exc)
            else:
                self._watcher.changed.connect(self.changed)
                self._limit("")
                return
        if self._has_bus():
            from .dbus_link import BusLink, BusUnavailableError
            from .portal_shortcuts import PortalKey

            try:
                if self._bus is None or not self._bus.is_open:
                    self._drop_bus()
                    self._bus = BusLink(self._bus_address or "SESSION", self)
                self._watcher = PortalKey(key, self._bus, self)
            except (BusUnavailableError, KeyUnavailableError) as exc:
                log.info("push-to-talk outside the window is not available through the portal: %s", exc)
            else:
                self._watcher.changed.connect(self.changed)
                self._watcher.refused.connect(self._refused)
                self._limit("")
                return
        self._limit(focus_only())

    @property
    def watching(self) -> str | None:
        """The key watched outside the window now, if any."""
        return self._key if self._watcher is not None else None

    def _use_x11(self) -> bool:
        return self._display is not None or (bool(os.environ.get("DISPLAY")) and not native_wayland())

    def _has_bus(self) -> bool:
        return self._bus_address is not None or bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS"))

    def stop(self) -> None:
        """Watch nothing (leaving a room, or before another key).

        The session bus stays open for the next key: the portal's ``Close`` has just been written to
        it, and dbus-daemon may drop a message that arrives just before its sender hangs up (the
        portal would then keep the binding until we quit)."""
        watcher, self._watcher, self._key = self._watcher, None, None
        if watcher is not None:
            watcher.close()
            watcher.deleteLater()

    def close(self) -> None:
        """Watch nothing, for good (the window closes): the bus is let go too, and with it, by the
        portal's own rule, any session it still held."""
        self.stop()
        self._drop_bus()

    def _drop_bus(self) -> None:
        bus, self._bus = self._bus, None
        if bus is not None:
            bus.close()
            bus.deleteLater()

    def _refused(self, why: str) -> None:
        """The desktop said no: the key stays chosen (no asking again until it changes). The reason
        goes to the log; the one sentence the window shows must fit the settings' hint."""
        log.info("push-to-talk outside the window is not available through the portal: %s", why)
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.deleteLater()
        self._limit(focus_only())

    def _limit(self, limitation: str) -> None:
        if limitation != self.limitation:
            self.limitation = limitation
            self.limitation_changed.emit(limitation)
