"""The media server's troubles in the room's notice line, in plain words (over the fake engine)."""

from client_desktop.engine import events
from client_desktop.ui.status import NoticeKind
from client_desktop.ui.window import MainWindow
from protocol import ErrorCode

from .conftest import Harness
from .test_room import enter


def test_an_unreachable_media_port_is_a_warning_in_plain_words(window: MainWindow, harness: Harness) -> None:
    engine = enter(window, harness)
    engine.emit(events.MediaUnreachable())
    notice = window.room.notice
    assert notice.isVisible()
    assert notice.label.text() == (
        "Cannot reach the server's media port from here, so you hear no one and no one hears you; "
        "chat still works. A firewall may block its UDP ports."
    )
    assert notice.label.property("kind") == NoticeKind.WARN.value


def test_a_media_failure_says_the_server_s_own_words(window: MainWindow, harness: Harness) -> None:
    engine = enter(window, harness)
    words = "the media server is unreachable; the call resumes when it is back"
    engine.emit(events.ServerError(ErrorCode.MEDIA_FAILED, words, None))
    assert window.room.notice.isVisible()
    assert words in window.room.notice.label.text()
