"""What "Host on this computer" opens in the login form: who can join, at which address, the invite.

The addresses are read again each time the box is shown or the choice
changes (a laptop changes networks); the invite link follows the room
field as it is typed, so what is copied is what the join will host.
"""

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from protocol import limits

from ..hosting import HostScope, invite
from ..links import LinkError, RoomLink

INDENT_PX = 22


def hint(text: str = "") -> QLabel:
    """A grey, wrapping, selectable line of plain text (addresses get copied by hand too)."""
    label = QLabel(text)
    label.setObjectName("hint")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class HostingBox(QWidget):
    scope_changed = Signal(object)  # HostScope

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.port = limits.DEFAULT_PORT
        self._read_addresses: Callable[[], list[str]] = list
        self.addresses: list[str] = []
        self.room = ""
        self.this_computer = QRadioButton(self.tr("Only this computer"))
        self.this_computer.setAccessibleName(self.tr("Host for this computer only"))
        self.network = QRadioButton(self.tr("My network"))
        self.network.setAccessibleName(self.tr("Host for my network"))
        group = QButtonGroup(self)
        group.addButton(self.this_computer)
        group.addButton(self.network)
        self.this_computer.setChecked(True)
        self.network.toggled.connect(self._scope_toggled)
        self.reach = hint()
        self.reach.setAccessibleName(self.tr("Who can join"))
        self.invite = QLineEdit()
        self.invite.setReadOnly(True)
        self.invite.setAccessibleName(self.tr("Invite link"))
        self.copy = QPushButton(self.tr("Copy link"))
        self.copy.setAccessibleName(self.tr("Copy invite link"))
        self.copy.clicked.connect(self.copy_invite)
        self.status = hint(self.tr("A server will start on this computer when you join."))
        self.status.setAccessibleName(self.tr("Hosting status"))

        choices = QHBoxLayout()
        choices.setSpacing(16)
        choices.addWidget(self.this_computer)
        choices.addWidget(self.network)
        choices.addStretch(1)
        self.invite_row = QWidget()
        link_row = QHBoxLayout(self.invite_row)
        link_row.setContentsMargins(0, 0, 0, 0)
        link_row.setSpacing(6)
        link_row.addWidget(self.invite, 1)
        link_row.addWidget(self.copy)
        box = QVBoxLayout(self)
        box.setContentsMargins(INDENT_PX, 0, 0, 0)
        box.setSpacing(6)
        box.addLayout(choices)
        box.addWidget(self.reach)
        box.addWidget(self.invite_row)
        box.addWidget(self.status)

    def configure(self, port: int, read_addresses: Callable[[], list[str]]) -> None:
        """Where hosting will listen, and how to read this machine's addresses."""
        self.port = port
        self._read_addresses = read_addresses
        self.refresh()

    def scope(self) -> HostScope:
        return HostScope.NETWORK if self.network.isChecked() else HostScope.THIS_COMPUTER

    def set_scope(self, scope: HostScope) -> None:
        (self.network if scope is HostScope.NETWORK else self.this_computer).setChecked(True)
        self.refresh()

    def set_room(self, room: str) -> None:
        self.room = room.strip()
        self._show_invite()

    def invite_link(self) -> RoomLink | None:
        """The link for the room in the form, or ``None``.

        ``None`` for this computer only (nobody to invite), or while the room's
        name is not one the protocol allows.
        """
        if self.scope() is HostScope.THIS_COMPUTER:
            return None
        try:
            return invite(self.scope(), self.addresses, self.port, self.room)
        except LinkError:
            return None

    def copy_invite(self) -> None:
        if (link := self.invite_link()) is not None:
            QGuiApplication.clipboard().setText(str(link))
            self.copy.setText(self.tr("Copied"))

    def refresh(self) -> None:
        """Read the addresses again and say who can join."""
        self.addresses = self._read_addresses() if self.scope() is HostScope.NETWORK else []
        port = self.port
        if self.scope() is HostScope.THIS_COMPUTER:
            text = self.tr(
                "Only programs on this computer can join (127.0.0.1:{port}). Nobody else can reach it."
            ).format(port=port)
        elif self.addresses:
            where = self.tr(" or ").join(f"{address}:{port}" for address in self.addresses)
            text = self.tr("Others on your network join at {addresses}. A password is required.").format(
                addresses=where
            )
        else:
            text = self.tr(
                "This computer has no network address right now, so only it can join. "
                "Connect to a network and tick the box again."
            )
        self.reach.setText(text)
        self.invite_row.setVisible(self.scope() is HostScope.NETWORK)
        self._show_invite()

    def _scope_toggled(self, _on: bool) -> None:
        self.refresh()
        self.scope_changed.emit(self.scope())

    def _show_invite(self) -> None:
        link = self.invite_link()
        self.invite.setText("" if link is None else str(link))
        self.invite.setCursorPosition(0)  # a narrow form shows where the link leads, not its tail
        self.invite.setToolTip("" if link is None else str(link))
        self.invite.setPlaceholderText(self.tr("Type a valid room name for the link"))
        self.copy.setEnabled(link is not None)
        self.copy.setText(self.tr("Copy link"))
