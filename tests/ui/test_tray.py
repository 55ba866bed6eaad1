"""The tray icon's menu drives the call through the bridge, and closing the window can keep the call."""

from pathlib import Path

import pytest
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from client_desktop.ui.bridge import JoinRequest
from client_desktop.ui.preferences import AudioSettings
from client_desktop.ui.tray import Tray, TrayState, tray_icon
from client_desktop.ui.window import MainWindow

from .conftest import Harness

SHOTS = Path("/tmp")


def join(harness: Harness) -> None:
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))


def state(tray: Tray) -> TrayState:
    """Read afresh each time (mypy would narrow ``tray.state`` after the first assertion)."""
    return tray.state


@pytest.fixture
def tray(window: MainWindow) -> Tray:
    return Tray(window, available=True)


def test_mute_deafen_and_leave_from_the_menu(tray: Tray, harness: Harness) -> None:
    assert tray.icon.toolTip() == "Voxroom: not in a room"
    assert not tray.mute.isEnabled()
    assert not tray.leave.isEnabled()
    join(harness)
    assert state(tray) is TrayState.IN_CALL
    assert tray.icon.toolTip() == "Voxroom: in a call in lobby"

    tray.mute.trigger()
    assert harness.engine.calls[-1] == ("muted", True)
    assert tray.mute.isChecked()
    assert state(tray) is TrayState.MUTED
    assert tray.icon.toolTip() == "Voxroom: muted in lobby"
    tray.mute.trigger()
    assert harness.engine.calls[-1] == ("muted", False)
    assert state(tray) is TrayState.IN_CALL
    tray.deafen.trigger()
    assert harness.engine.calls[-1] == ("deafened", True)
    assert state(tray) is TrayState.MUTED

    tray.leave.trigger()
    assert harness.engine.calls[-1:] == [("leave", None)]
    assert state(tray) is TrayState.IDLE
    assert not tray.deafen.isEnabled()
    assert tray.icon.toolTip() == "Voxroom: not in a room"


def test_the_call_bar_and_the_tray_show_the_same_mute(
    tray: Tray, window: MainWindow, harness: Harness
) -> None:
    join(harness)
    window.room.calls.mute.click()
    assert tray.mute.isChecked()
    assert state(tray) is TrayState.MUTED
    tray.mute.trigger()
    assert not window.room.calls.mute.isChecked()


def test_closing_keeps_the_call_in_the_tray_and_show_brings_it_back(
    qtbot: QtBot, tray: Tray, window: MainWindow, harness: Harness
) -> None:
    join(harness)
    with qtbot.assertNotEmitted(window.closed), qtbot.waitSignal(window.kept_in_tray):
        window.close()
    assert not window.isVisible()
    assert ("leave", None) not in harness.engine.calls
    tray.show_action.trigger()
    assert window.isVisible()
    with qtbot.waitSignal(window.closed):
        tray.quit.trigger()


def test_closing_quits_when_the_setting_is_off(
    qtbot: QtBot, tray: Tray, window: MainWindow, harness: Harness
) -> None:
    join(harness)
    harness.bridge.settings = AudioSettings(keep_in_tray=False)
    with qtbot.waitSignal(window.closed), qtbot.assertNotEmitted(window.kept_in_tray):
        window.close()


def test_closing_quits_where_there_is_no_tray(qtbot: QtBot, window: MainWindow, harness: Harness) -> None:
    tray = Tray(window, available=False)
    assert not tray.icon.isVisible()
    join(harness)
    assert harness.bridge.settings.keep_in_tray  # the setting alone keeps nothing without a tray
    with qtbot.waitSignal(window.closed):
        window.close()


def test_closing_outside_a_room_quits(qtbot: QtBot, tray: Tray, window: MainWindow) -> None:
    with qtbot.waitSignal(window.closed):
        window.close()


def test_the_setting_is_applied_and_remembered(window: MainWindow, harness: Harness) -> None:
    dialog = window.open_settings()
    dialog.keep_in_tray.setEnabled(True)  # as on a desktop with a tray
    dialog.load(harness.bridge.settings)
    assert dialog.keep_in_tray.isChecked()
    dialog.keep_in_tray.setChecked(False)
    dialog.accept()
    assert harness.bridge.settings.keep_in_tray is False
    assert harness.prefs.audio().keep_in_tray is False


def test_without_a_tray_the_setting_shows_off_and_is_kept(window: MainWindow, harness: Harness) -> None:
    dialog = window.open_settings()
    assert dialog.keep_in_tray.isEnabled() is QSystemTrayIcon.isSystemTrayAvailable() is False
    assert not dialog.keep_in_tray.isChecked()
    dialog.accept()
    assert harness.prefs.audio().keep_in_tray is True  # a session without a tray does not change it


def test_the_icons_differ_by_state_and_render(
    qtbot: QtBot, tray: Tray, window: MainWindow, harness: Harness
) -> None:
    images = {state: tray_icon(state).pixmap(48, 48).toImage() for state in TrayState}
    assert len({image.pixelColor(4, 24).name() for image in images.values()}) == 3
    for state, image in images.items():
        assert image.save(str(SHOTS / f"ui-tray-icon-{state.value}.png"))
    join(harness)
    tray.mute.trigger()
    tray.menu.adjustSize()
    assert tray.menu.grab().save(str(SHOTS / "ui-tray-menu.png"))
    dialog = window.open_settings()
    dialog.adjustSize()
    assert dialog.grab().save(str(SHOTS / "ui-tray-settings.png"))
