"""Access without a mouse or a screen: every control reachable by Tab, with a name a screen reader
reads, and new messages, joins and leaves announced."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QComboBox,
    QLabel,
    QLineEdit,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from client_desktop.engine import events
from client_desktop.ui.bridge import JoinRequest
from client_desktop.ui.language import LanguageBox
from client_desktop.ui.moderation import ConfirmRemoval, LockDialog
from client_desktop.ui.window import MainWindow
from protocol import Role

from .conftest import Harness
from .fakes import peer

CONTROLS = (QAbstractButton, QLineEdit, QComboBox, QAbstractSlider, QAbstractItemView, QTextEdit)


def tab_chain(top: QWidget) -> list[QWidget]:
    """The widgets Tab visits in ``top``, in order: Qt's focus chain, as focusNextChild walks it."""
    chain: list[QWidget] = []
    widget = top.nextInFocusChain()
    while widget is not None and widget is not top and widget not in chain:
        if (
            widget.focusPolicy() & Qt.FocusPolicy.TabFocus
            and widget.isVisibleTo(top)
            and widget.isEnabled()
            and top.isAncestorOf(widget)
        ):
            chain.append(widget)
        widget = widget.nextInFocusChain()
    return chain


def spoken_name(widget: QWidget) -> str:
    """What a screen reader says for the control: its accessible name, else its text or its label's."""
    if widget.accessibleName():
        return widget.accessibleName()
    if isinstance(widget, QAbstractButton) and widget.text():
        return widget.text()
    top = widget.window()
    labels = [label for label in top.findChildren(QLabel) if label.buddy() is widget]
    return labels[0].text() if labels else ""


def check_keyboard(top: QWidget) -> list[str]:
    """Every visible control is in the Tab chain and named; returns the names, in Tab order."""
    chain = tab_chain(top)
    visible = [
        w
        for w in top.findChildren(QWidget)
        if isinstance(w, CONTROLS) and w.isVisibleTo(top) and w.isEnabled()
    ]
    unreachable = [w for w in visible if w not in chain and w.focusProxy() not in chain]
    assert not unreachable, [f"{type(w).__name__} {spoken_name(w)!r}" for w in unreachable]
    nameless = [type(w).__name__ for w in chain if not spoken_name(w).strip("&")]
    assert not nameless
    return [spoken_name(w) for w in chain]


def join(harness: Harness, role: Role = Role.MEMBER) -> None:
    harness.peers = (peer("bob"),)
    harness.role = role
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))


def test_the_login_form_is_all_reachable_and_named(window: MainWindow) -> None:
    login = window.login
    login.host.setChecked(True)
    login.hosting_box.network.setChecked(True)
    login.show_advanced(True)
    names = check_keyboard(login)

    assert names[:3] == ["Host on this computer", "Host for this computer only", "Host for my network"]
    assert {"Room", "Your name", "Password", "Admin password", "Room password", "Join room"} <= set(names)


def test_the_room_is_all_reachable_and_named(window: MainWindow, harness: Harness) -> None:
    join(harness, Role.MODERATOR)
    assert check_keyboard(window.room) == [
        "Moderate the room",
        "Chat messages",
        "Message",
        "People in the room",
        "Leave voice",
        "Mute",
        "Deafen",
        "People",
        "Settings",
        "Leave room",
    ]


def test_moderation_dialogs_and_the_language_box_are_reachable_and_named(
    qtbot: QtBot, harness: Harness
) -> None:
    widgets: list[QWidget] = [ConfirmRemoval(peer("bob"), ban=True), LockDialog(), LanguageBox(harness.prefs)]
    for widget in widgets:
        qtbot.addWidget(widget)
    assert check_keyboard(widgets[0])[:2] == ["Reason", "Ban for"]
    assert check_keyboard(widgets[1])[:2] == ["Let in whoever gives a password", "Lock"]  # the password waits
    assert check_keyboard(widgets[2]) == ["Language"]


def test_settings_are_all_reachable_and_named(window: MainWindow) -> None:
    names = check_keyboard(window.open_settings())
    assert names[:2] == ["Microphone", "Speaker"]
    assert names[-3:] == ["OK", "Cancel", "Apply"]


def test_new_messages_joins_and_leaves_are_announced(
    window: MainWindow, harness: Harness, qtbot: QtBot
) -> None:
    said: list[str] = []
    window.room.announcer.announced.connect(said.append)
    join(harness)
    harness.history = ()
    engine = harness.engine
    engine.chat(1, "alice", "my own words", own=True)
    engine.emit(events.PeerArrived(peer("carol")))
    engine.chat(2, "carol", "hello")
    engine.emit(events.PeerDeparted("id-carol"))
    assert said == ["carol joined"]  # the rest waits out the gap between announcements, then comes together
    qtbot.waitUntil(lambda: len(said) == 2)
    assert said == ["carol joined", "carol says: hello\ncarol left"]
    qtbot.waitUntil(lambda: window.room.announcer.ready())
    engine.chat(3, "bob", "x" * 2000)
    assert len(said[-1]) == 300
    assert said[-1].endswith("…")
