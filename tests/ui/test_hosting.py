"""Hosting from the form: who can join, the password that guards it, the invite, a form that fits.

The form's tests run the widgets against the fake engine; the bundled
server's are async and start the real one (on a port the kernel picks),
reached only at 127.0.0.1 whatever it binds.
"""

import os
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QScrollArea, QWidget
from pytestqt.qtbot import QtBot

from client_desktop.hosting import Host, HostChoice, HostScope, make_password, network_addresses, shareable
from client_desktop.links import RoomLink, parse_link
from client_desktop.ui import style
from client_desktop.ui.bridge import Hosted
from client_desktop.ui.invite import InviteNotice
from client_desktop.ui.link_opener import open_link
from client_desktop.ui.login import LoginView
from client_desktop.ui.window import MainWindow

from ..conftest import free_port
from ..wsclient import Client
from .conftest import Harness, open_window

ADDRESSES = ["192.168.1.5", "10.0.0.2"]


def hosting(window: MainWindow, scope: HostScope, room: str = "lobby") -> LoginView:
    login = window.login
    login.set_hosting(8765, lambda: list(ADDRESSES))
    login.room.setText(room)
    login.username.setText("host")
    login.host.setChecked(True)
    login.hosting_box.set_scope(scope)
    return login


def hosted_window(
    qtbot: QtBot, tmp_path: Path, shared: str = "192.168.1.5:8765"
) -> tuple[MainWindow, Harness, list[HostChoice]]:
    """A window whose bridge hosts with a stand-in for ``Host`` that records what the form chose."""
    chosen: list[HostChoice] = []
    windows: list[MainWindow] = []

    async def host() -> Hosted:
        chosen.append(windows[0].login.hosting_choice())
        return Hosted("ws://127.0.0.1:8765/ws", shared, "admin-secret")

    harness = Harness(tmp_path, host)
    windows.append(open_window(qtbot, harness))
    InviteNotice(windows[0], harness.bridge)
    return windows[0], harness, chosen


def test_this_computer_only_says_so_and_has_nobody_to_invite(window: MainWindow) -> None:
    login = hosting(window, HostScope.THIS_COMPUTER)
    assert login.password.isEnabled()
    assert login.hosting_box.reach.text() == (
        "Only programs on this computer can join (127.0.0.1:8765). Nobody else can reach it."
    )
    assert not login.hosting_box.invite_row.isVisible()
    assert login.hosting_choice() == HostChoice(HostScope.THIS_COMPUTER, None)


def test_my_network_lists_the_addresses_and_the_invite_follows_the_room(window: MainWindow) -> None:
    login = hosting(window, HostScope.NETWORK)
    assert login.hosting_box.reach.text() == (
        "Others on your network join at 192.168.1.5:8765 or 10.0.0.2:8765. A password is required."
    )
    assert login.hosting_box.invite.text() == "voxroom://192.168.1.5:8765/lobby?tls=0"
    login.room.setText("team-1")
    assert login.hosting_box.invite.text() == "voxroom://192.168.1.5:8765/team-1?tls=0"
    login.room.setText("no spaces")
    assert login.hosting_box.invite.text() == ""
    assert not login.hosting_box.copy.isEnabled()
    assert login.password_label.text() == "&Password for your guests"


def test_the_invite_is_copied_as_a_link_without_the_password(window: MainWindow) -> None:
    login = hosting(window, HostScope.NETWORK)
    login.password.setText("s3cret")
    login.hosting_box.copy.click()
    copied = QGuiApplication.clipboard().text()
    assert copied == "voxroom://192.168.1.5:8765/lobby?tls=0"
    assert parse_link(copied) == RoomLink("192.168.1.5", 8765, "lobby", tls=False)
    assert login.hosting_box.copy.text() == "Copied"


def test_no_network_address_says_only_this_computer_can_join(window: MainWindow) -> None:
    login = hosting(window, HostScope.NETWORK)
    login.set_hosting(8765, list)
    assert "no network address right now" in login.hosting_box.reach.text()


def test_the_typed_password_goes_to_the_hosted_server_and_into_the_join(qtbot: QtBot, tmp_path: Path) -> None:
    window, harness, chosen = hosted_window(qtbot, tmp_path)
    login = hosting(window, HostScope.NETWORK)
    login.password.setText("s3cret")
    login.submit()
    assert chosen == [HostChoice(HostScope.NETWORK, "s3cret")]
    assert harness.engine.request.password == "s3cret"
    assert login.made_password is None


def test_an_empty_password_on_the_network_is_made_shown_and_used(qtbot: QtBot, tmp_path: Path) -> None:
    window, harness, chosen = hosted_window(qtbot, tmp_path)
    login = hosting(window, HostScope.NETWORK)
    login.submit()
    made = login.made_password
    assert made is not None
    assert chosen == [HostChoice(HostScope.NETWORK, made)]
    assert harness.engine.request.password == made
    assert f"Your guests need the password {made}." in login.hosting.text()

    notice = window.room.notice
    assert window.stack.currentWidget() is window.room
    assert notice.isVisible()
    assert notice.label.text() == (
        f"You are hosting. Invite link: voxroom://192.168.1.5:8765/lobby?tls=0 (password: {made})"
    )
    QGuiApplication.clipboard().clear()
    assert notice.button.text() == "Copy invite link"
    notice.button.click()
    assert QGuiApplication.clipboard().text() == "voxroom://192.168.1.5:8765/lobby?tls=0"


def test_a_later_notice_s_button_copies_nothing(qtbot: QtBot, tmp_path: Path) -> None:
    window, _harness, _chosen = hosted_window(qtbot, tmp_path)
    hosting(window, HostScope.NETWORK).submit()
    QGuiApplication.clipboard().setText("mine")
    window.room.notice.say("Your microphone stopped.", button="Dismiss")
    window.room.notice.button.click()
    assert QGuiApplication.clipboard().text() == "mine"


def test_hosting_this_computer_only_keeps_an_empty_password_and_invites_nobody(
    qtbot: QtBot, tmp_path: Path
) -> None:
    window, harness, _chosen = hosted_window(qtbot, tmp_path, "127.0.0.1:8765")
    login = hosting(window, HostScope.THIS_COMPUTER)
    login.submit()
    assert harness.engine.request.password is None
    assert login.made_password is None
    assert not window.room.notice.isVisible()
    assert login.hosting.text() == "Hosting at 127.0.0.1:8765, for this computer only."


# --- links arriving in the window ---------------------------------------------


def test_a_link_fills_the_form_and_joins_when_a_name_is_known(window: MainWindow, harness: Harness) -> None:
    window.login.username.setText("alice")
    window.login.host.setChecked(True)
    window.login.password.setText("for another server")
    open_link(window, parse_link("voxroom://127.0.0.1:9000/den?tls=0"))
    request = harness.engine.request
    assert (request.server, request.room, request.password) == ("ws://127.0.0.1:9000/ws", "den", None)
    assert not window.login.host.isChecked()


def test_a_link_without_a_name_waits_in_the_form(window: MainWindow, harness: Harness) -> None:
    window.login.username.clear()
    open_link(window, parse_link("voxroom://voice.example.org/den"))
    assert harness.engines == []
    assert window.login.server.text() == "wss://voice.example.org:443/ws"
    assert window.login.room.text() == "den"


def test_a_link_never_drops_the_call_in_progress(window: MainWindow, harness: Harness) -> None:
    window.login.username.setText("alice")
    open_link(window, parse_link("voxroom://127.0.0.1:9000/den?tls=0"))
    assert len(harness.engines) == 1
    open_link(window, parse_link("voxroom://127.0.0.1:9000/den?tls=0"))  # the room we are in: nothing
    assert not window.room.notice.isVisible()
    open_link(window, parse_link("voxroom://127.0.0.1:9000/other?tls=0"))
    assert len(harness.engines) == 1
    assert harness.engine.calls == []
    assert window.stack.currentWidget() is window.room
    assert "To join other from the link you opened, leave this room" in window.room.notice.label.text()
    assert window.login.room.text() == "other"


# --- the form fits: nothing clipped, light and dark, both choices --------------


def clipped(root: QWidget) -> list[str]:
    """Visible texts that do not get the room they need, or stick out of the card or to the side."""
    card = root.findChild(QWidget, "card")
    scroll = root.findChild(QScrollArea, "loginScroll")
    assert card is not None
    assert scroll is not None
    found = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisible() or not isinstance(widget, QLabel | QAbstractButton):
            continue
        text = widget.text()
        if not text:
            continue
        size = widget.size()
        if isinstance(widget, QLabel) and widget.wordWrap():
            short = size.height() < widget.heightForWidth(size.width())
        else:
            hint = widget.minimumSizeHint() if isinstance(widget, QAbstractButton) else widget.sizeHint()
            short = size.width() < hint.width() or size.height() < hint.height()
        corner = widget.mapTo(card, widget.rect().bottomRight())
        outside = corner.x() >= card.width() or corner.y() >= card.height()
        outside |= widget.mapTo(scroll.viewport(), widget.rect().topRight()).x() >= scroll.viewport().width()
        if short or outside:
            found.append(f"{text!r}: {size.width()}x{size.height()}")
    return found


SHOTS_ENV = "VOXROOM_SCREENSHOT_DIR"
"""Where the form's screenshots go to be looked at; a test's own temporary folder otherwise."""


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("scope", list(HostScope))
@pytest.mark.parametrize("size", [(960, 720), (440, 460)], ids=["wide", "small"])
def test_the_form_fits_in_every_choice_and_palette(
    qtbot: QtBot, tmp_path: Path, scope: HostScope, dark: bool, size: tuple[int, int]
) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    style.use_palette(app, style.dark_palette() if dark else app.style().standardPalette())
    try:
        window = open_window(qtbot, Harness(tmp_path))
        hosting(window, scope)
        window.login.show_error(
            "Could not start a server on this computer: its port is already in use "
            "(is Voxroom already hosting, or another program on that port?)."
        )
        window.resize(*size)
        qtbot.waitExposed(window)
        qtbot.wait(50)  # the layout settles (word-wrapped heights are a second pass)
        assert clipped(window.login) == []
        name = (
            f"ui-login-{scope.value}-{'dark' if dark else 'light'}-{'wide' if size[0] > 600 else 'small'}.png"
        )
        shots = Path(os.environ.get(SHOTS_ENV, tmp_path))
        assert window.grab().save(str(shots / name))
    finally:
        style.use_palette(app, app.style().standardPalette())


# --- the bundled server ----------------------------------------------------------


async def test_my_network_binds_every_interface_and_refuses_a_join_without_the_password(
    tmp_path: Path,
) -> None:
    choice = HostChoice(HostScope.NETWORK, "s3cret")
    host = Host(free_port(), lambda: choice, lambda: ["192.168.1.5"], tmp_path / "data")
    try:
        hosted = await host()
        url = hosted.url
        assert host.server is not None
        port = host.server.port
        assert [s.getsockname() for s in host.server.server.sockets] == [("0.0.0.0", port)]
        assert (url, hosted.shared) == (f"ws://127.0.0.1:{port}/ws", f"192.168.1.5:{port}")
        me = await Client.open(url)  # the host joins with the admin password only it knows
        mine = await me.join(username="host", password="s3cret", admin_password=hosted.admin_password)
        assert mine["self"]["role"] == "moderator"
        stranger = await Client.open(url)
        await stranger.send({"type": "join", "room": "lobby", "username": "eve"})
        assert (await stranger.expect("error"))["code"] == "auth-failed"
        guest = await Client.open(url)
        joined = await guest.join(username="guest", password="s3cret")
        assert joined["room"] == "lobby"
        assert joined["self"].get("role", "member") == "member"
        await guest.close()
        await me.close()

        choice = HostChoice(HostScope.THIS_COMPUTER, None)  # the host changed the form: a new server
        hosted = await host()
        url = hosted.url
        assert [s.getsockname() for s in host.server.server.sockets] == [("127.0.0.1", port)]
        assert hosted.shared == f"127.0.0.1:{port}"
        anyone = await Client.open(url)
        assert (await anyone.join(username="anyone"))["room"] == "lobby"
        await anyone.close()
    finally:
        await host.close()


def test_only_addresses_others_can_dial_are_shown() -> None:
    seen = ["127.0.0.1", "169.254.3.4", "192.168.1.5", "::1", "fd00::2", "0.0.0.0", "192.168.1.5", "x"]
    assert shareable(seen) == ["192.168.1.5"]
    assert all(not a.startswith("127.") for a in network_addresses())


def test_made_passwords_are_readable_and_differ() -> None:
    made = {make_password() for _ in range(50)}
    assert len(made) == 50
    for password in made:
        groups = password.split("-")
        assert [len(g) for g in groups] == [4, 4, 4]
        assert not set(password) & set("01ilo")
