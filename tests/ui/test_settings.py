"""The settings dialog: devices listed, values applied to the running call and remembered."""

from collections.abc import Iterator
from pathlib import Path
from typing import Never

import numpy as np
import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from client_desktop.engine import events
from client_desktop.engine.device_watch import DeviceWatch
from client_desktop.engine.devices import DeviceAudio, device_names
from client_desktop.engine.engine import AudioOptions
from client_desktop.engine.uplink import TalkMode
from client_desktop.ui.bridge import Bridge, JoinRequest
from client_desktop.ui.preferences import AudioSettings
from client_desktop.ui.settings import SettingsDialog
from client_desktop.ui.window import MainWindow

from ..engine.calls import until
from ..engine.test_device_watch import load_sink, unload
from ..support.pulse import Pulse
from .conftest import Harness, run_now, scratch_prefs


def join(window: MainWindow, harness: Harness) -> None:
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))


def test_devices_are_listed_with_the_system_default_first(window: MainWindow, harness: Harness) -> None:
    dialog = window.open_settings()
    assert [dialog.input.itemText(i) for i in range(dialog.input.count())] == ["System default", "USB mic"]
    assert [dialog.output.itemText(i) for i in range(dialog.output.count())] == ["System default", "Speakers"]


def test_applying_changes_the_running_call_and_is_remembered(window: MainWindow, harness: Harness) -> None:
    join(window, harness)
    dialog = window.open_settings()
    dialog.input.setCurrentIndex(1)
    dialog.noise.setChecked(False)
    dialog.ptt.setChecked(True)
    dialog.key.setKeySequence(QKeySequence("F9"))
    dialog.bitrate.setCurrentIndex(dialog.bitrate.findData(48_000))
    dialog.apply_button.click()
    wanted = AudioSettings(
        AudioOptions(
            input_device="USB mic",
            noise_suppression=False,
            talk_mode=TalkMode.PUSH_TO_TALK,
            bitrate_bps=48_000,
        ),
        ptt_key="F9",
    )
    assert harness.engine.applied == [wanted.options]
    assert harness.prefs.audio() == wanted
    assert window.room.calls.mode.text() == "Push to talk: hold F9"


def test_a_join_starts_the_engine_with_the_saved_settings(window: MainWindow, harness: Harness) -> None:
    saved = AudioSettings(AudioOptions(input_device="USB mic", vad_threshold_dbfs=-35.0), ptt_key="F9")
    harness.bridge.settings = saved
    join(window, harness)
    assert harness.engine.options == saved.options


def test_push_to_talk_key_held_and_released(window: MainWindow, harness: Harness) -> None:
    join(window, harness)
    dialog = window.open_settings()  # as a person chooses it: the window reads keys from then on
    dialog.ptt.setChecked(True)
    dialog.key.setKeySequence("F8")
    dialog.accept()
    window.activateWindow()
    target = window.room.chat.composer
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QApplication.sendEvent(target, QKeyEvent(kind, Qt.Key.Key_F8, Qt.KeyboardModifier.NoModifier))
    assert [c for c in harness.engine.calls if c[0] == "ptt"] == [("ptt", True), ("ptt", False)]


def test_the_meter_shows_the_live_input_level(window: MainWindow, harness: Harness) -> None:
    join(window, harness)
    dialog = window.open_settings()
    harness.engine.emit(events.LevelsChanged(-24.0, True, {}))
    assert dialog.meter.level_dbfs == -24.0
    assert harness.devices.meter_device is None  # in a call the call's own levels feed the meter


def test_the_test_tone_plays_on_the_chosen_speaker(window: MainWindow, harness: Harness) -> None:
    dialog = window.open_settings()
    dialog.output.setCurrentIndex(dialog.output.findData("Speakers"))
    dialog.tone.click()
    assert harness.devices.tones == ["Speakers"]
    assert dialog.tone.isEnabled()
    assert dialog.tone_hint.isHidden()


def test_a_test_tone_that_fails_says_why(window: MainWindow, harness: Harness) -> None:
    harness.devices.fail = OSError("Device unavailable")
    dialog = window.open_settings()
    dialog.tone.click()
    assert not dialog.tone_hint.isHidden()
    assert dialog.tone_hint.text() == "Could not play the test tone: Device unavailable"
    assert dialog.tone.isEnabled()


def test_outside_a_room_the_meter_listens_to_the_chosen_microphone(
    window: MainWindow, harness: Harness
) -> None:
    window.login.settings_button.click()
    dialog = window.settings_dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert harness.devices.meter_device == ""  # the system default
    dialog.input.setCurrentIndex(dialog.input.findData("USB mic"))
    assert harness.devices.meter_device == "USB mic"
    assert harness.devices.on_level is not None
    harness.devices.on_level(-30.0)
    assert dialog.meter.level_dbfs == -30.0
    dialog.reject()
    assert harness.devices.meter_device is None


def test_joining_hands_the_meter_to_the_call(window: MainWindow, harness: Harness) -> None:
    window.open_settings()
    assert harness.devices.meter_device == ""
    join(window, harness)
    assert harness.devices.meter_device is None


def test_a_microphone_that_cannot_be_opened_is_said_in_the_dialog(
    window: MainWindow, harness: Harness
) -> None:
    harness.devices.fail = OSError("Error opening InputStream")
    dialog = window.open_settings()
    assert not dialog.meter_hint.isHidden()
    assert dialog.meter_hint.text() == "Cannot open the microphone: Error opening InputStream"


# --- real devices: PulseAudio null sinks, PortAudio streams, the device watch ---------------------------


@pytest.fixture
def sound(monkeypatch: pytest.MonkeyPatch) -> Iterator[Pulse]:
    """A private PulseAudio, this process routed to it (microphone ``mic.monitor``, speaker ``speaker``)."""
    with Pulse(("mic", "speaker")) as daemon:
        for key in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH", "PULSE_SERVER"):
            monkeypatch.setenv(key, daemon.env[key])
        monkeypatch.setenv("PULSE_SOURCE", "mic.monitor")
        monkeypatch.setenv("PULSE_SINK", "speaker")
        yield daemon


async def running_streams() -> tuple[DeviceAudio, list[int], list[tuple[str, str]]]:
    """Both streams open on the defaults, counting the microphone's frames and any failure."""
    frames: list[int] = []
    failures: list[tuple[str, str]] = []
    audio = DeviceAudio(lambda e: failures.append((e.message, e.fallback)))
    audio.start(lambda frame: frames.append(len(frame)), lambda: np.zeros(960, dtype=np.int16))
    await until(lambda: len(frames) >= 10, timeout=8.0)  # ALSA's pulse plugin takes 1-2 s to start
    return audio, frames, failures


async def test_opening_settings_never_stops_the_running_streams(
    qtbot: QtBot, sound: Pulse, tmp_path: Path
) -> None:
    """PortAudio's own listing (no device watch) rescans, which stops every stream: not while one runs."""
    audio, frames, failures = await running_streams()
    try:
        dialog = SettingsDialog(
            Bridge(_no_engine, run_now, list_devices=device_names), scratch_prefs(tmp_path)
        )
        qtbot.addWidget(dialog)
        dialog.load(AudioSettings())
        dialog.show()
        assert dialog.output.findText("pulse") >= 0  # PortAudio's devices are listed
        seen = len(frames)
        await until(lambda: len(frames) >= seen + 25, timeout=5.0)  # half a second more of microphone
        assert audio.running
        assert failures == []
    finally:
        await audio.stop()


async def test_a_sink_that_comes_and_goes_while_settings_is_open_is_shown(
    qtbot: QtBot, sound: Pulse, tmp_path: Path
) -> None:
    watch = await DeviceWatch.start()
    assert watch is not None
    audio, frames, failures = await running_streams()
    try:
        bridge = Bridge(_no_engine, run_now, list_devices=lambda: watch.devices)
        watch.subscribe(bridge.devices_changed.emit)
        dialog = SettingsDialog(bridge, scratch_prefs(tmp_path))
        qtbot.addWidget(dialog)
        dialog.load(AudioSettings())
        dialog.show()
        assert dialog.output.findData("headphones") < 0
        module = load_sink(sound.env, "headphones")
        await until(lambda: dialog.output.findData("headphones") >= 0)
        dialog.output.setCurrentIndex(dialog.output.findData("headphones"))
        unload(sound.env, module)  # chosen, then gone: it stays chosen, marked
        await until(lambda: dialog.output.currentText() == "headphones (not connected)")
        assert dialog.output.currentData() == "headphones"
        seen = len(frames)
        await until(lambda: len(frames) >= seen + 25, timeout=5.0)
        assert failures == []
    finally:
        await audio.stop()
        watch.close()


def _no_engine(*_args: object) -> Never:
    raise AssertionError("these tests join no room")


def test_a_long_push_to_talk_hint_gets_all_its_lines(window: MainWindow, qtbot: QtBot) -> None:
    """A form gave the spanning hint one line's height; a longer (translated) sentence lost its end."""
    dialog = window.open_settings()
    dialog.show_ptt_limitation("Push-to-talk works only while Voxroom has focus on this desktop. " * 3)
    hint = dialog.key_hint
    qtbot.waitUntil(lambda: hint.height() >= hint.heightForWidth(hint.width()))
    assert hint.heightForWidth(hint.width()) > 2 * hint.fontMetrics().lineSpacing()  # it does wrap
