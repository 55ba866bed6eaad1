"""A moderator's menus and confirmations against the fake engine: what is offered, to whom, what is sent."""

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLabel, QMenu
from pytestqt.qtbot import QtBot

from client_desktop.engine import events
from client_desktop.ui import style
from client_desktop.ui.bridge import JoinRequest
from client_desktop.ui.moderation import ConfirmRemoval, LockDialog
from client_desktop.ui.window import MainWindow
from protocol import Ban, Kick, LockRoom, ModAction, Moderated, Peer, Role, ServerMute

from .conftest import Harness, open_window
from .fakes import SELF_ID, FakeEngine, peer

SHOTS_ENV = "VOXROOM_SCREENSHOT_DIR"


def enter(harness: Harness, role: Role = Role.MODERATOR, *others: Peer) -> FakeEngine:
    harness.role = role
    harness.peers = others or (peer("bob"),)
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "mia", admin_password="adm"))
    return harness.engine


def texts(menu: QMenu) -> list[str]:
    return [action.text() for action in menu.actions() if action.text()]


def action(menu: QMenu, text: str) -> QAction:
    return next(a for a in menu.actions() if a.text() == text)


def sent(engine: FakeEngine) -> list[object]:
    return [request for name, request in engine.calls if name == "moderate"]


def press(dialog: ConfirmRemoval | LockDialog, button: QDialogButtonBox.StandardButton) -> None:
    dialog.buttons.button(button).click()


def test_members_see_only_the_volume(window: MainWindow, harness: Harness) -> None:
    enter(harness, Role.MEMBER)
    users = window.room.users
    assert texts(users.menu_for(users.peer("id-bob"))) == ["Reset volume"]
    assert users.menu_for(users.peer(SELF_ID)).isEmpty()
    assert window.room.moderate.isHidden()


def test_a_moderator_sees_the_person_s_actions_and_the_room_s(window: MainWindow, harness: Harness) -> None:
    enter(harness)
    users = window.room.users
    room_actions = ["Lock room…", "Unlock room"]
    assert texts(users.menu_for(users.peer("id-bob"))) == [
        "Reset volume",
        "Mute for everyone",
        "Kick…",
        "Ban…",
        *room_actions,
    ]
    assert texts(users.menu_for(users.peer(SELF_ID))) == room_actions  # never ourselves
    assert texts(users.menu_for(None)) == room_actions
    assert not window.room.moderate.isHidden()
    window.room.room_menu.aboutToShow.emit()
    assert texts(window.room.room_menu) == room_actions


def test_kick_asks_first_and_sends_the_reason(window: MainWindow, harness: Harness) -> None:
    engine = enter(harness)
    users = window.room.users
    action(users.menu_for(users.peer("id-bob")), "Kick…").trigger()
    dialog = window.room.moderation.dialog
    assert isinstance(dialog, ConfirmRemoval)
    assert dialog.isVisible()
    assert sent(engine) == []  # nothing before the confirmation
    assert dialog.question.text() == "Remove \u2068bob\u2069 from the room? They can join again."
    press(dialog, QDialogButtonBox.StandardButton.Cancel)
    assert sent(engine) == []
    action(users.menu_for(users.peer("id-bob")), "Kick…").trigger()
    dialog = window.room.moderation.dialog
    assert isinstance(dialog, ConfirmRemoval)
    dialog.reason.setText("  spam ")
    press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert sent(engine) == [Kick(target="id-bob", reason="spam")]
    assert window.room.moderation.dialog is None


def test_ban_has_a_duration_to_choose(window: MainWindow, harness: Harness) -> None:
    engine = enter(harness)
    users = window.room.users
    action(users.menu_for(users.peer("id-bob")), "Ban…").trigger()
    dialog = window.room.moderation.dialog
    assert isinstance(dialog, ConfirmRemoval)
    choices = [dialog.duration.itemText(i) for i in range(dialog.duration.count())]
    assert choices == ["1 hour", "1 day", "7 days", "30 days"]
    assert dialog.duration.currentText() == "1 day"
    dialog.duration.setCurrentIndex(2)
    dialog.reason.setText("flooding")
    press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert sent(engine) == [Ban(target="id-bob", reason="flooding", duration_s=7 * 86_400)]


def test_mute_for_everyone_needs_no_confirmation_and_can_be_lifted(
    window: MainWindow, harness: Harness
) -> None:
    engine = enter(harness)
    users = window.room.users
    action(users.menu_for(users.peer("id-bob")), "Mute for everyone").trigger()
    assert sent(engine) == [ServerMute(target="id-bob", muted=True)]
    engine.emit(events.PeerUpdated(Peer("id-bob", "bob", True, False, True, server_muted=True)))
    action(users.menu_for(users.peer("id-bob")), "Unmute for everyone").trigger()
    assert sent(engine)[-1] == ServerMute(target="id-bob", muted=False)


def test_locking_with_or_without_a_password_and_unlocking(window: MainWindow, harness: Harness) -> None:
    engine = enter(harness)
    window.room.room_menu.aboutToShow.emit()
    action(window.room.room_menu, "Lock room…").trigger()
    dialog = window.room.moderation.dialog
    assert isinstance(dialog, LockDialog)
    assert not dialog.password.isEnabled()
    press(dialog, QDialogButtonBox.StandardButton.Ok)
    assert sent(engine) == [LockRoom(locked=True)]

    dialog = window.room.moderation.ask_lock()
    dialog.with_password.setChecked(True)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()  # an empty password is no password
    dialog.password.setText("hunter2")
    assert ok.isEnabled()
    ok.click()
    assert sent(engine)[-1] == LockRoom(locked=True, password="hunter2")

    notice = Moderated(
        action=ModAction.LOCK_ROOM, by=SELF_ID, by_username="mia", locked=True, with_password=True
    )
    engine.emit(events.RoomModerated(notice))
    assert window.room.notice.label.text() == "mia locked the room with a password"
    window.room.room_menu.aboutToShow.emit()
    assert texts(window.room.room_menu) == ["Change the lock…", "Unlock room"]
    action(window.room.room_menu, "Unlock room").trigger()
    assert sent(engine)[-1] == LockRoom(locked=False)
    engine.emit(
        events.RoomModerated(
            Moderated(action=ModAction.LOCK_ROOM, by=SELF_ID, by_username="mia", locked=False)
        )
    )
    window.room.room_menu.aboutToShow.emit()
    assert not action(window.room.room_menu, "Unlock room").isEnabled()


def test_everyone_reads_what_happened_in_words(window: MainWindow, harness: Harness) -> None:
    engine = enter(harness, Role.MEMBER)
    ban = Moderated(
        action=ModAction.BAN,
        by="p1",
        by_username="mia",
        target="id-bob",
        target_username="bob",
        reason="flooding",
        duration_s=7 * 86_400,
    )
    engine.emit(events.RoomModerated(ban))
    assert window.room.notice.label.text() == "mia banned bob for 7 days: flooding"
    mute = Moderated(
        action=ModAction.SERVER_MUTE,
        by="p1",
        by_username="mia",
        target="id-bob",
        target_username="bob",
        muted=True,
    )
    engine.emit(events.RoomModerated(mute))
    assert window.room.notice.label.text() == "mia muted bob"


def test_refusals_are_said_in_plain_words(window: MainWindow, harness: Harness) -> None:
    engine = enter(harness)
    engine.emit(events.ServerError("not-moderator", "only moderators may do that", "kick"))
    assert window.room.notice.label.text().startswith("Only moderators can do that.")
    assert "admin password" in window.room.notice.label.text()
    engine.emit(events.ServerError("unknown-target", "no such peer in this room", "ban"))
    assert window.room.notice.label.text() == "That person is no longer in the room."
    window.room.notice.hide()
    engine.emit(events.ServerError("unknown-target", "no such peer in this room", "signal"))
    assert window.room.notice.label.text() == "That person is no longer in the room."  # a known code: ours
    assert window.room.notice.isVisible()


def test_names_stay_plain_text_in_menus_and_dialogs(window: MainWindow, harness: Harness) -> None:
    odd = Peer("id-odd", "<b>x</b>&y", False, False, True)
    enter(harness, Role.MODERATOR, odd)
    menu = window.room.users.menu_for(odd)
    header = menu.findChild(QLabel, "menuHeader")
    assert header is not None
    assert header.textFormat() is Qt.TextFormat.PlainText
    assert header.text() == "\u2068<b>x</b>&y\u2069"
    assert all("x" not in text for text in texts(menu))  # no name in an item (its & would be a shortcut)
    dialog = window.room.moderation.confirm(odd, ban=True)
    assert dialog.question.textFormat() is Qt.TextFormat.PlainText
    assert "<b>x</b>&y" in dialog.question.text()


def test_the_admin_password_is_under_advanced_and_never_remembered(
    window: MainWindow, harness: Harness, tmp_path: Path
) -> None:
    login = window.login
    assert login.advanced_box.isHidden()
    login.advanced.click()
    assert not login.advanced_box.isHidden()
    login.username.setText("mia")
    login.admin_password.setText("s3cret-admin")
    login.room_password.setText("door")
    login.submit()
    request = harness.engine.request
    assert (request.admin_password, request.room_password) == ("s3cret-admin", "door")
    stored = QSettings(str(tmp_path / "voxroom.ini"), QSettings.Format.IniFormat)  # what the form saved
    values = [str(stored.value(key)) for key in stored.allKeys()]
    assert "mia" in values
    assert not {"s3cret-admin", "door"} & set(values)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_people_menu_as_a_moderator_sees_it(
    qtbot: QtBot, harness: Harness, tmp_path: Path, dark: bool
) -> None:
    """Rendered for a person to look at (ui-mod-*.png, in VOXROOM_SCREENSHOT_DIR if set)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    shots = Path(os.environ.get(SHOTS_ENV, tmp_path))
    look = "dark" if dark else "light"
    style.use_palette(app, style.dark_palette() if dark else app.style().standardPalette())
    app.setStyleSheet(style.STYLE_SHEET)
    try:
        window = open_window(qtbot, harness)
        window.login.advanced.click()
        window.login.admin_password.setText("s3cret")
        window.resize(640, 760)
        assert window.grab().save(str(shots / f"ui-mod-login-{look}.png"))
        enter(harness, Role.MODERATOR, peer("bob"), Peer("id-odd", "<b>x</b>&y", False, False, True))
        window.resize(960, 640)
        qtbot.waitExposed(window)
        assert window.grab().save(str(shots / f"ui-mod-room-{look}.png"))
        menu = window.room.users.menu_for(window.room.users.peer("id-bob"))
        menu.adjustSize()
        assert menu.grab().save(str(shots / f"ui-mod-menu-{look}.png"))
        odd = Peer("id-odd", "<b>x</b>&y", False, False, True)
        ban = window.room.moderation.confirm(odd, ban=True)
        ban.reason.setText("flooding")
        ban.adjustSize()
        assert ban.grab().save(str(shots / f"ui-mod-ban-{look}.png"))
        lock = window.room.moderation.ask_lock()
        lock.with_password.setChecked(True)
        lock.adjustSize()
        assert lock.grab().save(str(shots / f"ui-mod-lock-{look}.png"))
    finally:
        app.setStyleSheet("")
        style.use_palette(app, app.style().standardPalette())
