"""Widget tests: the real widgets and bridge against a fake engine; no asyncio loop runs.

The bridge's ``spawn`` runs a coroutine to its end at once (the fake
engine never really awaits), so joins and leaves complete synchronously.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from client_desktop.engine import events
from client_desktop.engine.device_rules import DeviceList
from client_desktop.engine.engine import AudioOptions
from client_desktop.ui.bridge import Bridge, HostServer, JoinRequest
from client_desktop.ui.preferences import Preferences
from client_desktop.ui.window import MainWindow
from protocol import ChatPosted, Peer, Role

from .fakes import FakeDeviceCheck, FakeEngine


def run_now(coro: Coroutine[Any, Any, None]) -> None:
    """Drive a coroutine that never suspends (the fake engine's) to completion."""
    try:
        coro.send(None)
    except StopIteration:
        return
    coro.close()
    raise AssertionError("the coroutine suspended: a fake engine must not await real I/O")


def scratch_prefs(tmp_path: Path) -> Preferences:
    """Preferences in a file of the test's own, never the user's."""
    return Preferences(QSettings(str(tmp_path / "voxroom.ini"), QSettings.Format.IniFormat))


class Harness:
    """The bridge over fake engines; set ``peers``, ``history``, ``refuse`` or ``role`` before a join."""

    def __init__(self, tmp_path: Path, host: HostServer | None = None) -> None:
        self.engines: list[FakeEngine] = []
        self.refuse: Exception | None = None
        self.peers: tuple[Peer, ...] = ()
        self.history: tuple[ChatPosted, ...] = ()
        self.role = Role.MEMBER
        self.prefs = scratch_prefs(tmp_path)
        self.devices = FakeDeviceCheck()
        self.bridge = Bridge(
            self._make,
            run_now,
            host,
            list_devices=lambda: DeviceList.named(["USB mic"], ["Speakers"]),
            device_check=self.devices,
        )

    def _make(self, request: JoinRequest, options: AudioOptions, sink: events.EngineEventSink) -> FakeEngine:
        engine = FakeEngine(request, options, sink, self.refuse, self.peers, self.history, role=self.role)
        self.engines.append(engine)
        return engine

    @property
    def engine(self) -> FakeEngine:
        return self.engines[-1]


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def open_window(qtbot: QtBot, harness: Harness) -> MainWindow:
    win = MainWindow(harness.bridge, harness.prefs)
    qtbot.addWidget(win)
    win.show()
    return win


@pytest.fixture
def window(qtbot: QtBot, harness: Harness) -> MainWindow:
    return open_window(qtbot, harness)
