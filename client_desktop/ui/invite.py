"""The invite in the room: while hosting, the room's notice offers the link to copy.

The form shows the link before joining, but it is hidden once the room
opens, and the room clears its notices on entering. So the link is said
again after ``joined``, with a button that copies it; the password is in
the notice only when the app made it (the host knows one they typed).
"""

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication

from ..engine import events
from ..links import RoomLink
from .bridge import Bridge
from .status import NoticeKind
from .window import MainWindow


class InviteNotice(QObject):
    def __init__(self, window: MainWindow, bridge: Bridge) -> None:
        super().__init__(window)
        self.window = window
        self.link: RoomLink | None = None
        self._pending = False
        self.text = ""
        self._bridge = bridge
        window.room_made.connect(self._room_made)

    def _room_made(self) -> None:
        """Hosting starts with a join, which builds the room view first: listen from then on."""
        # connected after the window's and the room's own slots: the room has been entered when we speak
        self._bridge.hosting.connect(self._hosting)
        self._bridge.joined.connect(self._joined)
        self._bridge.join_failed.connect(self._forget)
        self.window.room.notice.action.connect(self._clicked)

    def _hosting(self, _address: str) -> None:
        self.link = self.window.login.hosting_box.invite_link()
        self._pending = self.link is not None

    def _forget(self, _code: object, _message: str) -> None:
        self._pending = False

    def _joined(self, _event: events.RoomJoined) -> None:
        if not self._pending or self.link is None:
            return
        self._pending = False
        made = self.window.login.made_password
        said = (  # nothing glued to the link's end
            self.tr("You are hosting. Invite link: {link} (password: {password})")
            if made
            else self.tr("You are hosting. Invite link: {link}")
        )
        self.text = said.format(link=self.link, password=made)
        self.window.room.notice.say(self.text, NoticeKind.INFO, self.tr("Copy invite link"))

    def _clicked(self) -> None:
        """The notice's button: copy, if the notice still shows the invite (not a later warning)."""
        if self.link is not None and self.window.room.notice.label.text() == self.text:
            QGuiApplication.clipboard().setText(str(self.link))
