"""What a moderator can do from the people list and the room's menu: kick, ban, mute for everyone, lock.

The actions are offered only to a moderator (we joined with the server's
admin password). Kick and ban ask first, in a dialog that names the person;
muting for everyone and locking are undone as easily as done, so they do
not. Requests go to the bridge; what happened reaches everyone as the
room's notice, and a refusal comes back as a notice in plain words.

A name is never put in a menu item's text (Qt reads ``&`` there as a
shortcut mark): menus carry a plain-text header, dialogs plain-text labels,
each name capped in combining marks and isolated in its direction.
"""

from typing import Final

from PySide6.QtCore import QObject
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from protocol import Ban, Kick, LockRoom, Peer, ServerMute, limits

from .bridge import Bridge
from .durations import duration_words
from .plain import plain_label, shown_name

BAN_DURATIONS_S: Final = (3600, 86_400, 7 * 86_400, 30 * 86_400)
DEFAULT_BAN_S: Final = 86_400


class ConfirmRemoval(QDialog):
    """Kick or ban one person: whom, a reason everyone will see (optional), and for a ban how long."""

    def __init__(self, peer: Peer, *, ban: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.peer = peer
        self.ban = ban
        name = shown_name(peer.username)
        self.setWindowTitle(self.tr("Ban") if ban else self.tr("Kick"))
        asked = (
            self.tr("Ban {name}? Nobody can join from their address until the ban ends.")
            if ban
            else self.tr("Remove {name} from the room? They can join again.")
        )
        self.question = plain_label(asked.format(name=name), "question")
        self.reason = QLineEdit()
        self.reason.setMaxLength(limits.MAX_REASON_CHARS)
        self.reason.setPlaceholderText(self.tr("Optional; everyone in the room sees it"))
        self.reason.setAccessibleName(self.tr("Reason"))
        self.duration = QComboBox()
        self.duration.setAccessibleName(self.tr("Ban for"))
        for seconds in BAN_DURATIONS_S:
            self.duration.addItem(duration_words(seconds), seconds)
        self.duration.setCurrentIndex(self.duration.findData(DEFAULT_BAN_S))
        form = QFormLayout()
        form.addRow(self.tr("&Reason"), self.reason)
        if ban:
            form.addRow(self.tr("Ban &for"), self.duration)
        self.buttons = _buttons(self, self.tr("Ban") if ban else self.tr("Kick"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(380)

    def request(self) -> Kick | Ban:
        reason = self.reason.text().strip()
        if self.ban:
            return Ban(target=self.peer.id, reason=reason, duration_s=int(self.duration.currentData()))
        return Kick(target=self.peer.id, reason=reason)


class LockDialog(QDialog):
    """Lock the room: nobody new joins, or only those who give the password typed here (never kept)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Lock the room"))
        self.explained = plain_label(
            self.tr(
                "Nobody new can join until the room is unlocked. People in it stay, and may come back "
                "if their connection drops."
            ),
            "question",
        )
        self.with_password = QCheckBox(self.tr("Let in whoever gives a password"))
        self.with_password.setAccessibleName(self.with_password.text())
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName(self.tr("Room password"))
        self.password.setPlaceholderText(self.tr("They type it under Advanced when joining"))
        self.password.setEnabled(False)
        self.with_password.toggled.connect(self.password.setEnabled)
        self.buttons = _buttons(self, self.tr("Lock"))
        self.with_password.toggled.connect(self._check)
        self.password.textChanged.connect(self._check)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explained)
        layout.addWidget(self.with_password)
        layout.addWidget(self.password)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(380)

    def _check(self) -> None:
        """No lock with an empty password: that would be a lock nobody could pass, said as a password."""
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(not self.with_password.isChecked() or bool(self.password.text()))

    def request(self) -> LockRoom:
        if self.with_password.isChecked():
            return LockRoom(locked=True, password=self.password.text())
        return LockRoom(locked=True)


class Moderation(QObject):
    """Adds a moderator's actions to menus and asks for confirmation before sending them."""

    def __init__(self, bridge: Bridge, parent: QWidget) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._parent = parent
        self.dialog: ConfirmRemoval | LockDialog | None = None
        """The confirmation shown now, if any."""

    def add_actions(self, menu: QMenu, peer: Peer | None) -> None:
        """The people list's menu: for another person their actions, then the room's; nothing for members."""
        if not self.bridge.is_moderator:
            return
        me = self.bridge.me
        if peer is not None and me is not None and peer.id != me.id:
            if not menu.isEmpty():
                menu.addSeparator()
            if peer.server_muted:
                menu.addAction(self.tr("Unmute for everyone"), lambda: self._mute(peer, False))
            else:
                menu.addAction(self.tr("Mute for everyone"), lambda: self._mute(peer, True))
            menu.addAction(self.tr("Kick…"), lambda: self.confirm(peer, ban=False))
            menu.addAction(self.tr("Ban…"), lambda: self.confirm(peer, ban=True))
        if not menu.isEmpty():
            menu.addSeparator()
        self.add_room_actions(menu)

    def add_room_actions(self, menu: QMenu) -> None:
        if not self.bridge.is_moderator:
            return
        locked = self.bridge.locked
        menu.addAction(self.tr("Change the lock…") if locked else self.tr("Lock room…"), self.ask_lock)
        unlock = menu.addAction(self.tr("Unlock room"), lambda: self.bridge.moderate(LockRoom(locked=False)))
        unlock.setEnabled(locked is not False)  # unknown after joining: offered

    def confirm(self, peer: Peer, *, ban: bool) -> ConfirmRemoval:
        dialog = ConfirmRemoval(peer, ban=ban, parent=self._parent)
        self._show(dialog)
        return dialog

    def ask_lock(self) -> LockDialog:
        dialog = LockDialog(self._parent)
        self._show(dialog)
        return dialog

    def _mute(self, peer: Peer, muted: bool) -> None:
        self.bridge.moderate(ServerMute(target=peer.id, muted=muted))

    def _show(self, dialog: ConfirmRemoval | LockDialog) -> None:
        """Window-modal and not blocking (``open``): the call and the chat go on behind it."""
        if self.dialog is not None:
            self.dialog.reject()
        self.dialog = dialog
        dialog.accepted.connect(lambda: self.bridge.moderate(dialog.request()))
        dialog.finished.connect(lambda _result: self._closed(dialog))
        dialog.open()

    def _closed(self, dialog: QDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()


def _buttons(dialog: QDialog, verb: str) -> QDialogButtonBox:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok.setText(verb)
    ok.setAccessibleName(verb)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons
