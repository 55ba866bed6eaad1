"""The English the engine's coded device failures carry for logs and the bot (the UI words the codes)."""

from client_desktop.engine.events import AudioDeviceFailed
from client_desktop.engine.problems import DeviceFailure, DeviceProblem, DeviceRole, DeviceTrouble


def test_a_device_failure_says_its_problems_and_what_audio_falls_back_to() -> None:
    unplugged = DeviceProblem(DeviceTrouble.DISCONNECTED, DeviceRole.MICROPHONE, "USB Mic")
    broken = DeviceProblem(DeviceTrouble.CANNOT_OPEN, DeviceRole.SPEAKER, "", "Device unavailable")
    codes = DeviceFailure((unplugged, broken), (DeviceRole.MICROPHONE,), (DeviceRole.SPEAKER,))
    failed = AudioDeviceFailed.of(codes)
    assert failed.message == (
        "the microphone 'USB Mic' was disconnected; cannot open the default speaker (Device unavailable)"
    )
    assert failed.fallback == "the default microphone and no speaker"
    assert failed.codes is codes


def test_a_device_failure_with_nothing_opened_falls_back_to_no_audio() -> None:
    stopped = DeviceProblem(DeviceTrouble.STOPPED)
    cannot = DeviceProblem(DeviceTrouble.CANNOT_OPEN, DeviceRole.MICROPHONE, "pulse", "Invalid device")
    failed = AudioDeviceFailed.of(DeviceFailure((stopped, cannot), (), (DeviceRole.MICROPHONE,)))
    assert failed.message == (
        "the sound device stopped responding; cannot open the microphone 'pulse' (Invalid device)"
    )
    assert failed.fallback == ""


def test_a_sound_system_gone_is_said_as_the_devices_said_it() -> None:
    gone = AudioDeviceFailed.of(
        DeviceFailure((DeviceProblem(DeviceTrouble.SERVER_GONE),), (), (DeviceRole.SPEAKER,))
    )
    assert (gone.message, gone.fallback) == ("the sound system is not answering", "")
