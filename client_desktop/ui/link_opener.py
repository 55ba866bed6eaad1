"""What the window does with a link or a second launch: come to the front, and join if it may.

A click on a link must never drop a call: inside a room, the link only
fills the form (for after leaving) and says so.
"""

import os

from PySide6.QtCore import QCoreApplication, Qt

from ..links import RoomLink
from .status import NoticeKind
from .window import MainWindow


def bring_to_front(window: MainWindow, activation_token: str | None = None) -> None:
    """Un-minimise, show and raise; ``activation_token`` is the launching desktop's (Wayland)."""
    if activation_token:  # Qt's Wayland plugin reads (and clears) it when it activates a window
        os.environ["XDG_ACTIVATION_TOKEN"] = activation_token
    window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
    window.show()
    window.raise_()
    window.activateWindow()


def open_link(window: MainWindow, link: RoomLink) -> None:
    """Join the link's room; from inside another room, only fill the form."""
    login = window.login
    in_room = window.bridge.in_room  # the room view is built by then: read only in a room
    if in_room and window.room.room_name == link.room:
        return
    ready = login.fill_link(link)
    if in_room:
        window.room.notice.say(
            QCoreApplication.translate(
                "LinkOpener",
                "To join {room} from the link you opened, leave this room: the form has it filled in.",
            ).format(room=link.room),
            NoticeKind.INFO,
            QCoreApplication.translate("LinkOpener", "Dismiss"),
        )
    elif ready:
        login.submit()
