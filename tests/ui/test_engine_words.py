# ruff: noqa: RUF001 - Russian text, Cyrillic letters meant
"""The engine's codes reach the screen in Russian: every connection reason, device trouble, server
error code, relay trouble and media notice, driven through the bridge into the real window.

Each code is tried (a new one without words fails), exactly for the ones people meet most, and for
the rest by what is left of the shown text once its parameters are taken out: no Latin letter
but the product's and the protocols' names.
"""

import re

import pytest

from client_desktop.engine import events
from client_desktop.engine.errors import AddressRefused, SignalingError
from client_desktop.engine.events import FailureCode, RelayFailure, RelayTrouble
from client_desktop.engine.problems import (
    DeviceFailure,
    DeviceProblem,
    DeviceRole,
    DeviceTrouble,
    LinkProblem,
    LinkTrouble,
)
from client_desktop.engine.signaling import SignalingClient
from client_desktop.ui.bridge import JoinRequest
from client_desktop.ui.window import MainWindow
from protocol import ErrorCode

from .conftest import Harness
from .test_i18n import russian  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("russian")

NAMES = re.compile(r"Voxroom|HTTP|TLS|UDP|TURN|NAT")
"""Kept in Russian too."""


def latin_left(shown: str, *parameters: str) -> str:
    """The Latin letters of ``shown`` outside its parameters and the names kept in every language."""
    for parameter in parameters:
        shown = shown.replace(parameter, "")
    return "".join(re.findall(r"[A-Za-z]", NAMES.sub("", shown)))


def enter(harness: Harness) -> None:
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))


def test_every_connection_reason_is_russian_in_the_status_line(window: MainWindow, harness: Harness) -> None:
    enter(harness)
    status = window.room.status.label
    for trouble in LinkTrouble:
        reason = LinkProblem(trouble, "h:1", "Errno 7", seconds=2.5, reason="bye")
        harness.engine.emit(events.ConnectionLost(reason, 3.0))
        assert status.text().startswith("Соединение потеряно ("), trouble
        assert latin_left(status.text(), "h:1", "Errno 7", "bye", "/ws") == "", (trouble, status.text())
    harness.engine.emit(events.ConnectionLost(LinkProblem(LinkTrouble.NO_ANSWER, "h:1", seconds=2.5), 3.0))
    assert status.text() == (
        "Соединение потеряно (h:1 не ответил за 2,5 с); переподключение через 3 с… "
        "Сообщения можно писать дальше."
    )
    harness.engine.emit(events.ConnectionLost("слова сервера", 3.0))  # the server's own words stay
    assert "(слова сервера)" in status.text()


def test_a_kick_and_a_taken_place_are_russian_with_only_the_moderator_s_reason(
    window: MainWindow, harness: Harness
) -> None:
    enter(harness)
    removed = LinkProblem(LinkTrouble.REMOVED, detail="флуд")
    harness.engine.emit(events.ConnectionFailed(FailureCode.KICKED, removed))
    assert window.room.status.label.text() == ("Соединение прервано: Модератор удалил вас из комнаты. (флуд)")
    harness.engine.emit(events.ConnectionFailed(FailureCode.BANNED, LinkProblem(LinkTrouble.REMOVED)))
    assert window.room.status.label.text() == (
        "Соединение прервано: Модератор на время закрыл вам доступ к этому серверу."
    )


def test_a_refused_join_says_the_engine_s_reason_in_russian(window: MainWindow, harness: Harness) -> None:
    harness.refuse = SignalingError.of(
        FailureCode.TLS, LinkProblem(LinkTrouble.UNTRUSTED, "h:1", "self-signed certificate")
    )
    enter(harness)
    assert window.login.error.text() == (
        "Не удалось установить защищённое соединение: сертификату сервера нет доверия. "
        "(сертификату h:1 нет доверия (self-signed certificate); если это ваш собственный сервер, "
        "установите его сертификат или его удостоверяющий центр)"
    )


def test_every_device_trouble_is_russian_with_the_device_s_name(window: MainWindow, harness: Harness) -> None:
    enter(harness)
    notice = window.room.notice.label
    for trouble in DeviceTrouble:
        for role in DeviceRole:
            for device in ("USB Mic", ""):
                problem = DeviceProblem(trouble, role, device, "Device unavailable")
                harness.engine.emit(events.AudioDeviceFailed.of(DeviceFailure((problem,), (role,))))
                shown = notice.text()
                assert latin_left(shown, "USB Mic", "Device unavailable") == "", (problem, shown)
    unplugged = DeviceProblem(DeviceTrouble.DISCONNECTED, DeviceRole.MICROPHONE, "USB Mic")
    broken = DeviceProblem(DeviceTrouble.CANNOT_OPEN, DeviceRole.SPEAKER, "", "Device unavailable")
    harness.engine.emit(
        events.AudioDeviceFailed.of(
            DeviceFailure((unplugged, broken), (DeviceRole.MICROPHONE,), (DeviceRole.SPEAKER,))
        )
    )
    assert notice.text() == (
        "Проблема со звуковым устройством: микрофон «USB Mic» отключён; не удаётся открыть динамик "
        "по умолчанию (Device unavailable). Используется: микрофон по умолчанию и без динамика."
    )
    harness.engine.emit(events.AudioDeviceFailed.of(DeviceFailure((broken,), (), (DeviceRole.SPEAKER,))))
    assert notice.text().endswith("Используется: без звука; чат работает.")


def test_every_server_error_code_has_a_russian_sentence(window: MainWindow, harness: Harness) -> None:
    enter(harness)
    notice = window.room.notice.label
    for code in ErrorCode:
        harness.engine.emit(events.ServerError(code, "42", "chat"))
        assert latin_left(notice.text()) == "", (code, notice.text())
    harness.engine.emit(events.ServerError(ErrorCode.MEDIA_UNSUPPORTED, "the server's English", None))
    assert notice.text() == (
        "Звонок в этой комнате идёт через медиасервер, с которым эта версия Voxroom работать не умеет; "
        "чат работает."
    )
    harness.engine.emit(events.ServerError("from-a-newer-server", "its own words", None))
    assert notice.text() == "its own words"  # a code we do not know: only the server can say it


def test_relay_and_media_warnings_are_russian(window: MainWindow, harness: Harness) -> None:
    enter(harness)
    notice = window.room.notice.label
    url = "turn:r:3478 (UDP)"
    for trouble in RelayTrouble:
        harness.engine.emit(events.RelayUnusable((RelayFailure(url, trouble, "403 Forbidden IP", 2.5),)))
        assert latin_left(notice.text(), url, "403 Forbidden IP") == "", (trouble, notice.text())
    harness.engine.emit(events.MediaUnreachable())
    assert notice.text() == (
        "Медиапорт сервера отсюда недоступен: вы никого не слышите, и вас никто не слышит; чат работает. "
        "Возможно, его UDP-порты закрыты брандмауэром."
    )


def test_a_silent_sound_system_and_a_message_with_no_room_are_russian(
    window: MainWindow, harness: Harness
) -> None:
    harness.devices.fail = TimeoutError("the sound system did not answer within 5 s")
    dialog = window.open_settings()
    dialog.tone.click()
    assert (
        dialog.tone_hint.text()
        == "Не удалось проиграть тестовый сигнал: звуковая система не ответила вовремя"
    )
    dialog.reject()
    with pytest.raises(ValueError, match=r"^вы не в комнате$"):
        harness.bridge.send_chat("привет")


def test_an_address_the_engine_cannot_use_is_refused_in_russian(window: MainWindow, harness: Harness) -> None:
    address = "ws://user@h:8765/ws"  # the form lets a user name through; websockets cannot use it
    with pytest.raises(AddressRefused) as refused:
        SignalingClient(address, "lobby", "alice", on_event=lambda _event: None)
    harness.refuse = refused.value
    enter(harness)
    assert window.login.error.text() == (
        f"Этот адрес сервера использовать нельзя: {address}. Введите его как хост:порт."
    )
