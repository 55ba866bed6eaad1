"""``voxroom --selftest``: prove a build (frozen or not) has every part it needs, then exit.

Off-screen unless told otherwise (``QT_QPA_PLATFORM``), it builds the real main
window, creates an aiortc peer connection with our Opus track on the qasync
loop and negotiates an offer, encodes and decodes a frame with our libopus and
runs it through the echo canceller (livekit's native library), and lists the
audio devices PortAudio sees. It prints one line and exits 0, or names the
first part that failed and exits 1. A machine without a sound card passes
(zero devices); a bundle without PortAudio does not.

``window_ms`` counts from the start of the process (its start time in
``/proc`` on Linux, else this module's import) to the window shown and its
first events processed: the start-up figure ``bench/bundle_bench.py`` records.
"""

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .ui.window import MainWindow

_IMPORTED_AT = time.monotonic()


def _process_age_s() -> float:
    """Seconds since this process started (Linux: from /proc; elsewhere: since this import)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started_ticks = int(fields[19])  # field 22 of stat(5); the split drops the first two
        uptime_s = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime_s - started_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED_AT


class SelfTestError(Exception):
    """One part of the build does not work; the message says which."""


def _part(name: str, check: Callable[[], str]) -> str:
    try:
        return check()
    except Exception as exc:  # the report must name the failing part, whatever it raised
        raise SelfTestError(f"{name}: {type(exc).__name__}: {exc}") from exc


def _views(window: "MainWindow") -> str:
    """The room view and the settings dialog, which the app builds at their first use, not at start."""
    from .ui.settings import SettingsDialog

    window.room.adjustSize()
    SettingsDialog(window.bridge, window.prefs, window).deleteLater()
    return "views=room,settings"


def _languages() -> str:
    """Each translation loads with Qt's own catalogue beside it (its dialogs' buttons)."""
    from .ui import i18n

    loaded = []
    for code in sorted(i18n.TRANSLATED):
        found = len(i18n.load(code))
        if found != 2:
            raise SelfTestError(f"{code}: {found} of 2 catalogues (ours, Qt's) load")
        loaded.append(code)
    return "languages=en," + ",".join(loaded)


def _codec() -> str:
    import numpy as np

    from .engine.media import Tone
    from .engine.opus import OpusDecoder, OpusEncoder
    from .engine.processing import ProcessingSettings, VoiceProcessor

    encoder, decoder = OpusEncoder(), OpusDecoder()
    processor = VoiceProcessor(ProcessingSettings(True, True, True))
    tone = Tone(440)
    size = 0
    for _ in range(10):
        frame = processor.capture(tone.read())
        packet = encoder.encode(frame)
        size = len(packet)
        out = decoder.decode(packet)
        processor.played(out)
    if out.shape != (960,) or not np.any(out):
        raise SelfTestError("decoded frame is silent or the wrong size")
    encoder.close()
    decoder.close()
    return f"opus={size}B"


def _devices() -> str:
    from .engine.devices import list_devices

    devices = list_devices()
    inputs = sum(1 for d in devices if d.inputs)
    outputs = sum(1 for d in devices if d.outputs)
    return f"devices={len(devices)}(in={inputs},out={outputs})"


def _aiortc_codec() -> str:
    """aiortc's own Opus (FFmpeg's libopus through PyAV), as it would run for a stock peer."""
    import fractions

    import av
    import numpy as np
    from aiortc.codecs import get_decoder, get_encoder
    from aiortc.jitterbuffer import JitterFrame
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    codec = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48_000, channels=2)
    encoder, decoder = get_encoder(codec), get_decoder(codec)
    samples = (np.sin(np.arange(960) * 2 * np.pi * 440 / 48_000) * 8000).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate, frame.pts, frame.time_base = 48_000, 0, fractions.Fraction(1, 48_000)
    payloads, _ = encoder.encode(frame)
    decoded = decoder.decode(JitterFrame(data=payloads[0], timestamp=0))
    if not payloads or not decoded:
        raise SelfTestError("aiortc's Opus gave nothing")
    return f"av={av.__version__}"


async def _peer_connection() -> str:
    from aiortc import RTCConfiguration, RTCPeerConnection

    from .engine.rtp import PacketTrack

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        track = PacketTrack()
        pc.addTrack(track)
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        if "opus/48000" not in sdp:
            raise SelfTestError("the offer has no Opus")
        track.stop()
    finally:
        await pc.close()
    return "webrtc=offer"


def run() -> int:
    """The self-test; prints one line (``voxroom selftest ok: ...`` or ``... FAILED: ...``)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        report = _run()
    except SelfTestError as exc:
        print(f"voxroom selftest FAILED: {exc}", flush=True)
        return 1
    print(f"voxroom selftest ok: {report}", flush=True)
    return 0


def _run() -> str:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from .ui import icons, style
    from .ui.bridge import Bridge
    from .ui.preferences import Preferences
    from .ui.window import MainWindow

    qt = QApplication(sys.argv[:1])
    style.apply(qt)
    qt.setWindowIcon(icons.app_icon())
    import qasync  # after PySide6: qasync 0.28.0 binds to the Qt already imported, else tries PyQt5 first

    def no_engine(*_: Any) -> Any:
        raise SelfTestError("the self-test joins no room")

    def spawn(coro: Coroutine[Any, Any, None]) -> None:
        coro.close()

    with tempfile.TemporaryDirectory(prefix="voxroom-selftest-") as tmp:
        settings = QSettings(str(Path(tmp) / "prefs.ini"), QSettings.Format.IniFormat)
        window = MainWindow(Bridge(no_engine, spawn), Preferences(settings))
        window.show()
        qt.processEvents()
        if not window.isVisible():
            raise SelfTestError("window: not shown")
        parts = [f"window_ms={_process_age_s() * 1000:.0f}", f"qpa={qt.platformName()}"]
        parts.append(_part("views", lambda: _views(window)))
        parts.append(_part("languages", _languages))
        parts.append(_part("codec", _codec))
        parts.append(_part("av", _aiortc_codec))
        loop = qasync.QEventLoop(qt)
        asyncio.set_event_loop(loop)
        try:
            parts.append(_part("webrtc", lambda: loop.run_until_complete(_peer_connection())))
        finally:
            asyncio.set_event_loop(None)
            try:
                loop.close()
            except Exception as exc:  # the check above has its verdict; say what closing left behind
                print(f"selftest: closing the event loop failed: {exc!r}", file=sys.stderr)
        parts.append(_part("audio", _devices))
        window.hide()
        window.deleteLater()
        del settings
    parts.append(f"frozen={'yes' if getattr(sys, 'frozen', False) else 'no'}")
    return " ".join(parts)
