"""The main window remembers its size and the chat/people divider between runs."""

from pathlib import Path

from PySide6.QtCore import QSettings, QSize
from pytestqt.qtbot import QtBot

from client_desktop.ui.bridge import JoinRequest
from client_desktop.ui.preferences import Preferences
from client_desktop.ui.window import MainWindow

from .conftest import Harness


def test_size_and_divider_are_restored_from_the_same_settings(
    qtbot: QtBot, harness: Harness, tmp_path: Path
) -> None:
    path = str(tmp_path / "voxroom.ini")
    first = MainWindow(harness.bridge, Preferences(QSettings(path, QSettings.Format.IniFormat)))
    qtbot.addWidget(first)
    first.show()
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))
    first.resize(740, 520)  # inside the offscreen screen (800x600): restoring clamps to it
    qtbot.waitUntil(lambda: first.room.splitter.width() > 650)
    first.room.splitter.setSizes([420, 280])
    sizes = first.room.splitter.sizes()
    assert sizes != [640, 220]  # not the default split
    first.close()

    second = MainWindow(harness.bridge, Preferences(QSettings(path, QSettings.Format.IniFormat)))
    qtbot.addWidget(second)
    second.show()
    assert second.size() == QSize(740, 520)
    second.stack.setCurrentWidget(second.room)
    qtbot.waitUntil(lambda: second.room.splitter.width() > 650)
    assert second.room.splitter.sizes() == sizes


def test_a_fresh_start_gets_the_default_size(qtbot: QtBot, harness: Harness) -> None:
    window = MainWindow(harness.bridge, harness.prefs)
    qtbot.addWidget(window)
    assert window.size() == QSize(960, 640)


def test_unreadable_saved_geometry_falls_back_to_the_default(
    qtbot: QtBot, harness: Harness, tmp_path: Path
) -> None:
    settings = QSettings(str(tmp_path / "broken.ini"), QSettings.Format.IniFormat)
    settings.setValue("window/main", "not a geometry")
    settings.setValue("window/splitter", 12)
    window = MainWindow(harness.bridge, Preferences(settings))
    qtbot.addWidget(window)
    assert window.size() == QSize(960, 640)
