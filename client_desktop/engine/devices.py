"""Sound cards, through sounddevice (PortAudio): the only module that imports it.

Capture and playback run in PortAudio's callback threads. Capture frames
go to the uplink (which hands packets to the loop thread-safely); playback
pulls from the mixer (which owns the lock between the loop and this
thread). Nothing here blocks the event loop. A device that fails or
vanishes is reported, and audio falls back to the default device, then to
none: the call and the chat go on either way.
"""

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .pcm import FRAME_SAMPLES, SAMPLE_RATE, Pcm, level_dbfs
from .processing import VoiceProcessor
from .tasks import cancel_and_wait

log = logging.getLogger("voxroom.devices")

BLOCK_SAMPLES = 480
"""10 ms device blocks: half the codec frame, so playout waits at most 10 ms for the card."""
LATENCY = "low"
"""PortAudio's 'low' latency: ~61 ms mouth-to-ear through PulseAudio against ~91 ms at 'high'."""
XRUNS_BEFORE_HIGH_LATENCY = 10
"""Over- or underruns within one watch period that make us fall back to 'high' latency."""
STALL_S = 1.0
STARTUP_S = 3.0
"""ALSA's pulse plugin takes 1-2 s before its first callbacks: not a stall."""
DEVICE_CALL_TIMEOUT_S = 5.0
DeviceRef = int | str | None


@dataclass(frozen=True, slots=True)
class Device:
    index: int
    name: str
    inputs: int
    outputs: int
    is_default_input: bool
    is_default_output: bool


def _sd() -> Any:
    """Import sounddevice lazily: without PortAudio the app still runs, chat only."""
    import sounddevice

    return sounddevice


def list_devices(rescan: bool = False) -> list[Device]:
    """Every device PortAudio sees; ``rescan`` re-reads them (hot-plugged devices)."""
    sd = _sd()
    if rescan:
        sd._terminate()
        sd._initialize()
    default_in, default_out = sd.default.device
    return [
        Device(
            index=i,
            name=str(info["name"]),
            inputs=int(info["max_input_channels"]),
            outputs=int(info["max_output_channels"]),
            is_default_input=i == default_in,
            is_default_output=i == default_out,
        )
        for i, info in enumerate(sd.query_devices())
    ]


class DeviceAudio:
    """Microphone in, speaker out, with 10 ms blocks and the voice processor in between.

    PortAudio calls that can hang (opening, stopping, closing a stream on a
    sound server that died) run on a throw-away thread with a deadline, so
    the event loop never waits on a sound card.
    """

    def __init__(
        self,
        on_failure: Callable[[str, str], None],
        input_device: DeviceRef = None,
        output_device: DeviceRef = None,
        processor: VoiceProcessor | None = None,
    ) -> None:
        self.input_device = input_device
        self.output_device = output_device
        self.processor = processor or VoiceProcessor()
        self._on_failure = on_failure
        self._lock = threading.Lock()  # the processor is shared by both callback threads
        self._streams: list[Any] = []
        self._capture_buf = np.zeros(0, dtype=np.int16)
        self._play_buf = np.zeros(0, dtype=np.int16)
        self._capture: Callable[[Pcm], None] | None = None
        self._render: Callable[[], Pcm] | None = None
        self._last_callback = 0.0
        self._task: asyncio.Task[None] | None = None
        self.latency = LATENCY
        self._xruns = 0

    # --- AudioIO -------------------------------------------------------------------

    def start(self, capture: Callable[[Pcm], None], render: Callable[[], Pcm]) -> None:
        self._capture, self._render = capture, render
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self._close_streams()

    async def switch(self, input_device: DeviceRef, output_device: DeviceRef) -> None:
        """Use other devices now, without restarting the call."""
        self.input_device, self.output_device = input_device, output_device
        await self._close_streams()
        await self._open_with_fallback()

    @property
    def running(self) -> bool:
        return bool(self._streams)

    # --- streams -------------------------------------------------------------------

    async def _run(self) -> None:
        """Open the devices, then watch them: one that stops calling back (unplugged) has failed."""
        await self._open_with_fallback()
        while True:
            await asyncio.sleep(STALL_S / 2)
            xruns, self._xruns = self._xruns, 0
            if self._streams and time.monotonic() - self._last_callback > STALL_S:
                await self._close_streams()
                await self._open_with_fallback("the sound device stopped responding", retry_chosen=False)
            elif self._streams and xruns >= XRUNS_BEFORE_HIGH_LATENCY and self.latency != "high":
                log.warning(
                    "%d audio over/underruns in %.1f s: switching to high latency", xruns, STALL_S / 2
                )
                self.latency = "high"
                await self._close_streams()
                await self._open_with_fallback()

    async def _open_with_fallback(self, trouble: str = "", retry_chosen: bool = True) -> None:
        """Open the chosen devices, else the defaults, else none; report anything but the first."""
        failure = trouble
        if retry_chosen:
            try:
                await _off_loop(lambda: self._open(self.input_device, self.output_device))
                return
            except Exception as exc:
                failure = f"cannot open audio devices ({exc or type(exc).__name__})"
        if not retry_chosen or self.input_device is not None or self.output_device is not None:
            try:
                await _off_loop(lambda: self._open(None, None))
                self._report(failure, "default devices")
                return
            except Exception as exc:
                failure += f"; default devices failed too ({exc or type(exc).__name__})"
        self._report(failure, "")

    def _open(self, input_device: DeviceRef, output_device: DeviceRef) -> None:
        sd = _sd()
        common = {
            "samplerate": SAMPLE_RATE,
            "channels": 1,
            "dtype": "int16",
            "blocksize": BLOCK_SAMPLES,
            "latency": self.latency,
        }
        streams = [
            sd.InputStream(device=input_device, callback=self._on_input, **common),
            sd.OutputStream(device=output_device, callback=self._on_output, **common),
        ]
        try:
            for stream in streams:
                stream.start()
        except Exception:
            for stream in streams:
                stream.close()
            raise
        self._last_callback = time.monotonic() + STARTUP_S
        self._streams = streams

    async def _close_streams(self) -> None:
        streams, self._streams = self._streams, []
        if streams:
            with contextlib.suppress(Exception):  # a hung close is abandoned, not waited for
                await _off_loop(lambda: _close_all(streams))

    def _report(self, message: str, fallback: str) -> None:
        log.warning("%s; falling back to %s", message, fallback or "no audio")
        self._on_failure(message, fallback)

    # --- callbacks (PortAudio's threads) ------------------------------------------

    def _on_input(self, indata: Any, frames: int, _time: Any, status: Any) -> None:
        self._last_callback = max(self._last_callback, time.monotonic())
        if status:
            self._xruns += 1
        self._capture_buf = np.concatenate([self._capture_buf, indata[:, 0]])
        while len(self._capture_buf) >= FRAME_SAMPLES and self._capture is not None:
            frame, self._capture_buf = self._capture_buf[:FRAME_SAMPLES], self._capture_buf[FRAME_SAMPLES:]
            with self._lock:
                frame = self.processor.capture(frame)
            self._capture(frame)

    def _on_output(self, outdata: Any, frames: int, _time: Any, status: Any) -> None:
        self._last_callback = max(self._last_callback, time.monotonic())
        if status:
            self._xruns += 1
        while len(self._play_buf) < frames and self._render is not None:
            frame = self._render()
            with self._lock:
                self.processor.played(frame)
            self._play_buf = np.concatenate([self._play_buf, frame])
        outdata[:, 0] = self._play_buf[:frames]
        self._play_buf = self._play_buf[frames:]


def _close_all(streams: list[Any]) -> None:
    for stream in streams:
        stream.abort()
        stream.close()


async def _off_loop(call: Callable[[], None], timeout_s: float = DEVICE_CALL_TIMEOUT_S) -> None:
    """Run a PortAudio call on a fresh daemon thread; give up waiting after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.done():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            loop.call_soon_threadsafe(settle, exc)
        else:
            loop.call_soon_threadsafe(settle, None)

    threading.Thread(target=run, name="voxroom-device-call", daemon=True).start()
    try:
        await asyncio.wait_for(done, timeout_s)
    except TimeoutError:
        raise TimeoutError(f"the sound system did not answer within {timeout_s:g} s") from None


TEST_TONE_HZ = 440.0
TEST_TONE_S = 0.6
METER_EVERY_BLOCKS = 5
"""The settings' meter is told every 5 blocks (50 ms): smooth to the eye, quiet for the loop."""


def sine_burst(hz: float = TEST_TONE_HZ, seconds: float = TEST_TONE_S, dbfs: float = -12.0) -> Pcm:
    """A short sine with 10 ms fades, so it starts and stops without a click."""
    n = round(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    fade = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.01 * SAMPLE_RATE))
    return (32767.0 * 10 ** (dbfs / 20) * fade * np.sin(2 * np.pi * hz * t)).astype(np.int16)


class DeviceCheck:
    """The settings' checks outside a call: a test tone out, the microphone's level in.

    Devices are named as in ``AudioSettings`` (``""`` is the system default).
    Errors are raised to the caller, which shows them in plain words.
    """

    def __init__(self) -> None:
        self._meter: Any = None

    async def play_tone(self, output_device: str) -> None:
        sd, pcm = _sd(), sine_burst()

        def play() -> None:
            sd.play(pcm, samplerate=SAMPLE_RATE, device=output_device or None, blocking=True)

        await _off_loop(play, TEST_TONE_S + DEVICE_CALL_TIMEOUT_S)

    async def start_meter(self, input_device: str, on_level: Callable[[float], None]) -> None:
        await self.stop_meter()
        loop, sd = asyncio.get_running_loop(), _sd()
        blocks = [0]

        def callback(indata: Any, _frames: int, _time: Any, _status: Any) -> None:  # PortAudio's thread
            blocks[0] += 1
            if blocks[0] % METER_EVERY_BLOCKS == 0:
                loop.call_soon_threadsafe(on_level, level_dbfs(indata[:, 0]))

        stream = sd.InputStream(
            device=input_device or None,
            samplerate=SAMPLE_RATE,
            channels=1,
            dtype="int16",
            blocksize=BLOCK_SAMPLES,
            callback=callback,
        )
        await _off_loop(stream.start)
        self._meter = stream

    async def stop_meter(self) -> None:
        stream, self._meter = self._meter, None
        if stream is not None:
            with contextlib.suppress(Exception):
                await _off_loop(lambda: _close_all([stream]))
