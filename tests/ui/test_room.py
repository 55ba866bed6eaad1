"""The room against a fake engine: chat, people, call controls, connection status."""

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from client_desktop.engine import events
from client_desktop.ui.bridge import JoinRequest
from client_desktop.ui.chat_view import COUNT_FROM, Delivered
from client_desktop.ui.status import NoticeKind
from client_desktop.ui.window import MainWindow
from protocol import ChatPosted, ModAction, Moderated, Peer, limits

from .conftest import Harness
from .fakes import SELF_ID, FakeEngine, peer


def enter(window: MainWindow, harness: Harness, *others: Peer, history: int = 0) -> FakeEngine:
    harness.peers = others
    harness.history = tuple(
        ChatPosted(id=i, from_="id-x", username="xena", text=f"old {i}", ts=1_700_000_000_000)
        for i in range(1, history + 1)
    )
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))
    return harness.engine


def test_history_is_shown_on_entry(window: MainWindow, harness: Harness) -> None:
    enter(window, harness, history=3)
    assert [line.text for line in window.room.chat.lines()] == ["old 1", "old 2", "old 3"]


def test_markup_from_others_is_shown_as_text_and_urls_become_links(
    window: MainWindow, harness: Harness
) -> None:
    engine = enter(window, harness)
    engine.chat(1, "mallory", "<img src=x onerror=1><b>bold</b> see https://example.org/a?b=1&c=2.")
    browser = window.room.chat.browser
    assert "<b>bold</b>" in window.room.chat.plain_text()
    html = browser.toHtml()
    assert "<img" not in html
    assert 'href="https://example.org/a?b=1&amp;c=2"' in html


def test_own_message_is_pending_then_delivered_without_duplicates(
    window: MainWindow, harness: Harness
) -> None:
    engine = enter(window, harness)
    window.room.chat.composer.setPlainText("hello")
    window.room.chat.submit()
    assert [(line.text, line.pending, line.own) for line in window.room.chat.lines()] == [
        ("hello", True, True)
    ]
    assert "sending…" in window.room.chat.plain_text()
    engine.chat(7, "alice", "hello", own=True, nonce="n1")
    engine.chat(7, "alice", "hello", own=True, nonce="n1")  # a replayed history after a reconnect
    assert [(line.key, line.pending) for line in window.room.chat.lines()] == [(Delivered(7), False)]
    assert "alice (you)" in window.room.chat.plain_text()


def test_enter_sends_and_shift_enter_adds_a_line(window: MainWindow, harness: Harness, qtbot: QtBot) -> None:
    engine = enter(window, harness)
    composer = window.room.chat.composer
    QTest.keyClicks(composer, "one")
    QTest.keyClick(composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClicks(composer, "two")
    assert engine.calls == []
    QTest.keyClick(composer, Qt.Key.Key_Return)
    assert engine.calls[-1] == ("chat", "one\ntwo")
    assert composer.toPlainText() == ""


def test_the_length_limit_is_shown_before_sending_and_nothing_is_cut(
    window: MainWindow, harness: Harness
) -> None:
    engine = enter(window, harness)
    chat = window.room.chat
    chat.composer.setPlainText("x" * (COUNT_FROM - 1))
    assert chat.count.isHidden()
    chat.composer.setPlainText("x" * (limits.MAX_CHAT_CHARS + 1))
    assert chat.count.isVisible()
    assert chat.count.text() == f"{limits.MAX_CHAT_CHARS + 1} / {limits.MAX_CHAT_CHARS}"
    assert not chat.send_button.isEnabled()
    chat.submit()
    assert not any(name == "chat" for name, _ in engine.calls)
    assert len(chat.composer.toPlainText()) == limits.MAX_CHAT_CHARS + 1


def test_a_history_is_rendered_once_for_the_whole_batch(
    window: MainWindow, harness: Harness, qtbot: QtBot
) -> None:
    renders: list[int] = []
    window.room.chat.browser.textChanged.connect(lambda: renders.append(1))
    enter(window, harness, history=200)
    chat = window.room.chat
    assert chat.render_pending
    qtbot.waitUntil(lambda: not chat.render_pending)
    assert len(renders) == 2  # the clear on entry, then all 200 lines at once
    assert "old 200" in chat.plain_text()
    assert chat.at_end()


def test_a_live_message_during_a_pending_history_renders_both(window: MainWindow, harness: Harness) -> None:
    engine = enter(window, harness, history=3)
    engine.chat(4, "xena", "live")
    assert not window.room.chat.render_pending
    assert "old 3" in window.room.chat.plain_text()
    assert "live" in window.room.chat.plain_text()


def test_autoscroll_follows_new_messages_but_not_a_reader_who_scrolled_up(
    window: MainWindow, harness: Harness, qtbot: QtBot
) -> None:
    engine = enter(window, harness, history=80)
    chat = window.room.chat
    qtbot.waitUntil(lambda: not chat.render_pending)
    bar = chat.browser.verticalScrollBar()
    assert bar.maximum() > 0
    assert chat.at_end()
    engine.chat(81, "xena", "new at the end")
    assert chat.at_end()
    bar.setValue(10)
    engine.chat(82, "xena", "while reading")
    assert bar.value() == 10
    assert chat.jump.isVisible()
    chat.jump.click()
    assert chat.at_end()


def test_people_are_listed_you_first_then_the_call_then_the_rest(
    window: MainWindow, harness: Harness
) -> None:
    enter(window, harness, peer("zoe"), peer("bob", voice=False), peer("Anna"))
    users = window.room.users
    assert users.order() == [SELF_ID, "id-Anna", "id-zoe", "id-bob"]
    harness.engine.emit(events.PeerArrived(peer("carl")))
    harness.engine.emit(events.PeerDeparted("id-zoe"))
    assert users.order() == [SELF_ID, "id-Anna", "id-carl", "id-bob"]
    harness.engine.emit(events.PeerUpdated(peer("bob", voice=True, muted=True)))
    assert users.order() == [SELF_ID, "id-Anna", "id-bob", "id-carl"]
    assert users.describe(peer("bob", voice=True, muted=True)) == "bob, in the call, muted"


def test_the_speaking_light_follows_the_engine_levels(window: MainWindow, harness: Harness) -> None:
    engine = enter(window, harness, peer("bob"))
    users = window.room.users
    engine.emit(events.LevelsChanged(-70.0, False, {"id-bob": -20.0}))
    assert users.is_speaking("id-bob")
    assert not users.is_speaking(SELF_ID)
    engine.emit(events.LevelsChanged(-20.0, True, {"id-bob": -90.0}))
    assert not users.is_speaking("id-bob")
    assert users.is_speaking(SELF_ID)
    assert window.room.calls.meter.level_dbfs == -20.0


def test_volume_per_user_reaches_the_engine(window: MainWindow, harness: Harness) -> None:
    engine = enter(window, harness, peer("bob"))
    window.room.users.set_gain("id-bob", 0.5)
    assert engine.calls[-1] == ("gain", ("id-bob", 0.5))
    assert "volume 50%" in window.room.users.describe(peer("bob"))


def test_mute_and_deafen_by_button_and_shortcut(window: MainWindow, harness: Harness, qtbot: QtBot) -> None:
    engine = enter(window, harness)
    window.activateWindow()
    QTest.keyClick(window.room.chat.composer, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert engine.calls[-1] == ("muted", True)
    assert window.room.calls.mute.isChecked()
    QTest.keyClick(window.room.chat.composer, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert engine.calls[-1] == ("deafened", True)
    assert window.room.users.describe(harness.bridge.me) == "alice (you), in the call, muted, deafened"  # type: ignore[arg-type]
    window.room.calls.voice.click()
    assert engine.calls[-1] == ("voice", False)
    assert window.room.calls.voice.text() == "Join voice"
    assert not window.room.calls.mute.isEnabled()


def test_reconnecting_counts_down_and_chat_stays_usable(
    window: MainWindow, harness: Harness, qtbot: QtBot
) -> None:
    engine = enter(window, harness)
    engine.emit(events.ConnectionLost("server closed the connection", 3.0))
    status = window.room.status
    assert status.isVisible()
    assert "reconnecting in 3 s" in status.label.text()
    qtbot.waitUntil(lambda: "reconnecting in 2 s" in status.label.text(), timeout=2000)
    assert window.room.chat.composer.isEnabled()
    window.room.chat.composer.setPlainText("typed while away")
    window.room.chat.submit()
    assert engine.calls[-1] == ("chat", "typed while away")
    engine.emit(events.RoomJoined("lobby", SELF_ID, "alice", (), True, ()))
    assert status.label.text() == "Connected again."
    assert [line.text for line in window.room.chat.lines()] == ["typed while away"]


def test_a_final_failure_offers_a_retry_that_rejoins(window: MainWindow, harness: Harness) -> None:
    engine = enter(window, harness)
    engine.emit(events.ConnectionFailed(events.FailureCode.SUPERSEDED, "replaced by another connection"))
    status = window.room.status
    assert status.button.isVisible()
    assert "another window" in status.label.text()
    assert status.label.property("kind") == NoticeKind.ERROR.value
    status.button.click()
    assert ("close", None) in engine.calls
    assert harness.engine is not engine


def test_an_audio_failure_is_a_notice_not_a_dead_end(window: MainWindow, harness: Harness) -> None:
    engine = enter(window, harness)
    engine.emit(events.AudioDeviceFailed("no sound card", ""))
    assert window.room.notice.isVisible()
    assert "no sound card" in window.room.notice.label.text()
    assert "chat still works" in window.room.notice.label.text()
    assert window.room.notice.label.property("kind") == NoticeKind.WARN.value
    window.room.chat.composer.setPlainText("still here")
    window.room.chat.submit()
    assert engine.calls[-1] == ("chat", "still here")


def test_a_server_error_is_a_notice_in_our_words_or_a_newer_server_s(
    window: MainWindow, harness: Harness
) -> None:
    engine = enter(window, harness)
    engine.emit(events.ServerError("rate-limited", "too many messages; wait a moment", None))
    assert window.room.notice.isVisible()
    assert window.room.notice.label.text() == "You are sending too fast; wait a moment."
    engine.emit(events.ServerError("some-new-code", "a newer server's words", None))
    assert window.room.notice.label.text() == "a newer server's words"


def test_a_moderator_s_action_is_a_notice_in_words(window: MainWindow, harness: Harness) -> None:
    engine = enter(window, harness)
    notice = Moderated(
        action=ModAction.KICK, by="p1", by_username="mia", target="p2", target_username="bob", reason="spam"
    )
    engine.emit(events.RoomModerated(notice))
    assert window.room.notice.isVisible()
    assert window.room.notice.label.text() == "mia kicked bob: spam"
    assert window.room.notice.label.property("kind") == NoticeKind.INFO.value


def test_an_unusable_relay_is_a_warning_in_plain_words(window: MainWindow, harness: Harness) -> None:
    engine = enter(window, harness)
    failure = events.RelayFailure(
        "turn:relay.example.org:3478 (UDP)", events.RelayTrouble.REFUSED, "403 <Forbidden IP>"
    )
    engine.emit(events.RelayUnusable((failure,)))
    notice = window.room.notice
    assert notice.isVisible()
    assert notice.label.text() == (
        "No relay server works, so calls through strict NATs or firewalls will not connect. "
        "turn:relay.example.org:3478 (UDP): it refused a relay (403 <Forbidden IP>)."
    )
    assert notice.label.property("kind") == NoticeKind.WARN.value
    assert notice.button.text() == "Dismiss"


def test_a_name_in_a_notice_is_shown_as_written(window: MainWindow, harness: Harness) -> None:
    engine = enter(window, harness)
    notice = Moderated(
        action=ModAction.KICK,
        by="p1",
        by_username="<i>mia</i>",
        target="p2",
        target_username="bob",
    )
    engine.emit(events.RoomModerated(notice))
    label = window.room.notice.label
    assert label.text().startswith("<i>mia</i> kicked bob")
    assert label.textFormat() is Qt.TextFormat.PlainText


def test_the_people_panel_folds_on_a_narrow_window(window: MainWindow, harness: Harness) -> None:
    enter(window, harness)
    room = window.room
    room.resizeEvent(QResizeEvent(QSize(500, 500), room.size()))
    assert room.users.isHidden()
    assert not room.calls.people.isChecked()
    assert room.calls.mute.toolButtonStyle() is Qt.ToolButtonStyle.ToolButtonIconOnly
    room.resizeEvent(QResizeEvent(QSize(900, 500), QSize(500, 500)))
    assert not room.users.isHidden()


def test_leaving_returns_to_the_login(window: MainWindow, harness: Harness) -> None:
    engine = enter(window, harness)
    window.room.calls.leave.click()
    assert ("leave", None) in engine.calls
    assert window.stack.currentWidget() is window.login


def test_the_room_and_server_are_in_the_header_and_title(window: MainWindow, harness: Harness) -> None:
    enter(window, harness)
    assert window.room.title.text() == "lobby"
    assert window.room.server.text() == "on h:1"
    assert window.windowTitle() == "lobby on h:1 — Voxroom"
    window.room.calls.leave.click()
    assert window.windowTitle() == "Voxroom"
