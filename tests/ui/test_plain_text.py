"""Every string from the network is shown as written, in every widget that shows it.

Qt renders a label's or a tooltip's text as HTML when it merely looks like
HTML (``Qt::mightBeRichText``): a name ``<img src=…>`` would load a file. Each
test puts markup in one network-given field and checks what the widget
would really draw.
"""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel

from client_desktop.engine import events
from client_desktop.engine.errors import SignalingError
from client_desktop.ui.bridge import JoinRequest
from client_desktop.ui.users_panel import PEER_ROLE
from client_desktop.ui.window import MainWindow
from protocol import ChatPosted, ModAction, Moderated

from .conftest import Harness
from .fakes import peer

MARKUP = '<b>x</b><img src="file:///etc/hostname">'


def drawn(text: str, fmt: Qt.TextFormat = Qt.TextFormat.AutoText) -> str:
    """What Qt draws for ``text`` in a label or tooltip of format ``fmt``."""
    rich = fmt is Qt.TextFormat.RichText or (fmt is Qt.TextFormat.AutoText and GuiQt.mightBeRichText(text))
    if not rich:
        return text
    document = QTextDocument()
    document.setHtml(text)
    return document.toPlainText()


def label_shows(label: QLabel, expected: str) -> bool:
    return expected in drawn(label.text(), label.textFormat())


def enter(harness: Harness, room: str = "lobby") -> None:
    harness.peers = (peer(MARKUP),)
    harness.history = (ChatPosted(id=1, from_="id-x", username=MARKUP, text=MARKUP, ts=1_700_000_000_000),)
    harness.bridge.join(JoinRequest("ws://h:1/ws", room, "alice"))


def test_a_peer_s_name_and_text_in_the_chat(window: MainWindow, harness: Harness) -> None:
    enter(harness)
    harness.engine.chat(2, MARKUP, f"**{MARKUP}** `{MARKUP}`")
    shown = window.room.chat.plain_text()
    assert shown.count(MARKUP) == 4  # two names (header), two bodies; the history's too
    assert "<img" not in window.room.chat.browser.toHtml()


def test_a_peer_s_name_in_the_people_list(window: MainWindow, harness: Harness) -> None:
    enter(harness)
    users = window.room.users
    rows = [users.item(i) for i in range(users.count())]
    item = next(row for row in rows if row.data(PEER_ROLE) == f"id-{MARKUP}")
    assert item.text() == MARKUP  # painted with drawText: never markup
    assert MARKUP in drawn(item.toolTip())
    assert MARKUP in item.data(Qt.ItemDataRole.AccessibleTextRole)


def test_the_room_name_in_the_title_and_header(window: MainWindow, harness: Harness) -> None:
    enter(harness, room=f"{MARKUP}[*]")
    assert window.windowHandle().title() == f"{MARKUP}[*] on h:1 — Voxroom"
    assert label_shows(window.room.title, f"{MARKUP}[*]")
    assert label_shows(window.room.server, "on h:1")


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (events.ServerError("media-failed", MARKUP, None), MARKUP),
        (events.ServerError("from-a-newer-server", MARKUP, None), MARKUP),
        (
            events.RoomModerated(
                Moderated(
                    action=ModAction.KICK,
                    by="p1",
                    by_username=MARKUP,
                    target="p2",
                    target_username="bob",
                    reason=MARKUP,
                )
            ),
            f"{MARKUP} kicked bob: {MARKUP}",
        ),
        (
            events.RelayUnusable((events.RelayFailure(MARKUP, events.RelayTrouble.UNTRUSTED, MARKUP),)),
            f"{MARKUP}: its TLS certificate is not trusted ({MARKUP})",
        ),
        (events.AudioDeviceFailed(MARKUP, ""), MARKUP),
    ],
)
def test_server_messages_and_reasons_in_the_notice(
    window: MainWindow, harness: Harness, event: events.EngineEvent, expected: str
) -> None:
    enter(harness)
    harness.engine.emit(event)
    assert label_shows(window.room.notice.label, expected)


def test_connection_reasons_in_the_status_line(window: MainWindow, harness: Harness) -> None:
    enter(harness)
    harness.engine.emit(events.ConnectionLost(MARKUP, 3.0))
    assert label_shows(window.room.status.label, MARKUP)
    harness.engine.emit(events.ConnectionFailed(events.FailureCode.KICKED, MARKUP))
    assert label_shows(window.room.status.label, MARKUP)


def test_a_refusal_s_reason_on_the_login_form(window: MainWindow, harness: Harness) -> None:
    harness.refuse = SignalingError(events.FailureCode.BANNED, MARKUP)
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))
    assert label_shows(window.login.error, MARKUP)
