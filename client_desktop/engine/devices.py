"""Sound cards, through sounddevice (PortAudio): the only module that imports it.

Capture and playback run in PortAudio's callback threads. Capture frames
go to the uplink (which hands packets to the loop thread-safely); playback
pulls from the mixer (which owns the lock between the loop and this
thread). Nothing here blocks the event loop. A device that fails or
vanishes is reported, and audio falls back to the default device, then to
none: the call and the chat go on either way.

Two public hooks exist for measuring rather than for the app: the streams'
block size and latency (``StreamSettings``), and an observer that sees each
callback's block with its timestamps (``on_block``). bench/engine_audio.py
uses both.
"""

import asyncio
import enum
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

import numpy as np

from .pcm import FRAME_SAMPLES, SAMPLE_RATE, Pcm, level_dbfs
from .processing import VoiceProcessor
from .tasks import cancel_and_wait

log = logging.getLogger("voxroom.devices")

Latency = Literal["low", "high"] | float
"""PortAudio's suggested latency: its ``"low"`` or ``"high"`` default for the device, or seconds."""

BLOCK_SAMPLES = 480
"""10 ms device blocks: half the codec frame, so playout waits at most 10 ms for the card."""
LATENCY: Latency = "low"
"""PortAudio's 'low' latency: ~61 ms mouth-to-ear through PulseAudio against ~91 ms at 'high'."""
XRUNS_BEFORE_HIGH_LATENCY = 10
"""Over- or underruns within one watch period that make us fall back to 'high' latency."""
STALL_S = 1.0
STARTUP_S = 3.0
"""ALSA's pulse plugin takes 1-2 s before its first callbacks: not a stall."""
DEVICE_CALL_TIMEOUT_S = 5.0
DeviceRef = int | str | None
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """How both streams are opened: samples per callback (0: PortAudio chooses) and latency."""

    blocksize: int = BLOCK_SAMPLES
    latency: Latency = LATENCY

    def __post_init__(self) -> None:
        if self.blocksize < 0:
            raise ValueError(f"blocksize must be 0 or more, not {self.blocksize}")
        if not isinstance(self.latency, str) and self.latency <= 0:
            raise ValueError(f"latency must be 'low', 'high' or positive seconds, not {self.latency}")


DEFAULT_STREAMS = StreamSettings()


class Direction(enum.Enum):
    INPUT = "input"
    OUTPUT = "output"


@dataclass(frozen=True, slots=True)
class Block:
    """One PortAudio callback, as an ``on_block`` observer sees it.

    ``samples`` is PortAudio's own buffer, valid only during the call: copy
    what you keep. ``at_s`` is ``time.monotonic()`` on entering an input
    callback, and on leaving an output callback (after the block was
    filled). ``device_time_s`` is PortAudio's stream clock: the ADC time of
    the first captured sample, or the DAC time of the first played one.
    ``xrun`` says PortAudio flagged an over- or underrun.
    """

    direction: Direction
    samples: Pcm
    at_s: float
    device_time_s: float
    xrun: bool


BlockObserver = Callable[[Block], None]
"""Called on PortAudio's callback threads: it must be quick and must not raise."""


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

    Args:
        streams: block size and latency; after repeated xruns the latency
            steps back to ``"high"`` whatever was chosen.
        on_block: sees every callback's block (see ``Block``).
    """

    def __init__(
        self,
        on_failure: Callable[[str, str], None],
        input_device: DeviceRef = None,
        output_device: DeviceRef = None,
        processor: VoiceProcessor | None = None,
        *,
        streams: StreamSettings = DEFAULT_STREAMS,
        on_block: BlockObserver | None = None,
    ) -> None:
        self.input_device = input_device
        self.output_device = output_device
        self.processor = processor or VoiceProcessor()
        self.streams = streams
        self._on_failure = on_failure
        self._on_block = on_block
        self._lock = threading.Lock()  # the processor is shared by both callback threads
        self._streams: list[Any] = []
        self._latency_s: tuple[float, float] | None = None
        self._capture_buf = np.zeros(0, dtype=np.int16)
        self._play_buf = np.zeros(0, dtype=np.int16)
        self._capture: Callable[[Pcm], None] | None = None
        self._render: Callable[[], Pcm] | None = None
        self._last_callback = 0.0
        self._task: asyncio.Task[None] | None = None
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

    @property
    def latency_s(self) -> tuple[float, float] | None:
        """(input, output) latency of the open streams as PortAudio reports them; None when closed."""
        return self._latency_s

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
            elif self._streams and xruns >= XRUNS_BEFORE_HIGH_LATENCY and self.streams.latency != "high":
                log.warning(
                    "%d audio over/underruns in %.1f s: switching to high latency", xruns, STALL_S / 2
                )
                self.streams = replace(self.streams, latency="high")
                await self._close_streams()
                await self._open_with_fallback()

    async def _open_with_fallback(self, trouble: str = "", retry_chosen: bool = True) -> None:
        """Open the chosen devices, else the defaults, else none; report anything but the first."""
        failure = trouble
        if retry_chosen:
            try:
                await self._open_streams(self.input_device, self.output_device)
                return
            except Exception as exc:
                failure = f"cannot open audio devices ({exc or type(exc).__name__})"
        if not retry_chosen or self.input_device is not None or self.output_device is not None:
            try:
                await self._open_streams(None, None)
                self._report(failure, "default devices")
                return
            except Exception as exc:
                failure += f"; default devices failed too ({exc or type(exc).__name__})"
        self._report(failure, "")

    async def _open_streams(self, input_device: DeviceRef, output_device: DeviceRef) -> None:
        opened = await _off_loop(lambda: self._open(input_device, output_device), if_late=_close_opened)
        self._last_callback = time.monotonic() + STARTUP_S
        self._streams, self._latency_s = opened

    def _open(
        self, input_device: DeviceRef, output_device: DeviceRef
    ) -> tuple[list[Any], tuple[float, float]]:
        """Open and start both streams (PortAudio's calls: off the loop); return them and their latency."""
        sd = _sd()
        common = {
            "samplerate": SAMPLE_RATE,
            "channels": 1,
            "dtype": "int16",
            "blocksize": self.streams.blocksize,
            "latency": self.streams.latency,
        }
        streams: list[Any] = []
        try:
            streams.append(sd.InputStream(device=input_device, callback=self._on_input, **common))
            streams.append(sd.OutputStream(device=output_device, callback=self._on_output, **common))
            for stream in streams:
                stream.start()
        except Exception:
            _close_all(streams)
            raise
        return streams, (float(streams[0].latency), float(streams[1].latency))

    async def _close_streams(self) -> None:
        streams, self._streams, self._latency_s = self._streams, [], None
        if streams:
            await _close_off_loop(streams)

    def _report(self, message: str, fallback: str) -> None:
        log.warning("%s; falling back to %s", message, fallback or "no audio")
        self._on_failure(message, fallback)

    # --- callbacks (PortAudio's threads) ------------------------------------------

    def _on_input(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        now = time.monotonic()
        self._last_callback = max(self._last_callback, now)
        if status:
            self._xruns += 1
        if self._on_block is not None:
            adc_s = float(time_info.inputBufferAdcTime)
            self._on_block(Block(Direction.INPUT, indata[:, 0], now, adc_s, bool(status)))
        self._capture_buf = np.concatenate([self._capture_buf, indata[:, 0]])
        while len(self._capture_buf) >= FRAME_SAMPLES and self._capture is not None:
            frame, self._capture_buf = self._capture_buf[:FRAME_SAMPLES], self._capture_buf[FRAME_SAMPLES:]
            with self._lock:
                frame = self.processor.capture(frame)
            self._capture(frame)

    def _on_output(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
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
        if self._on_block is not None:
            dac_s = float(time_info.outputBufferDacTime)
            self._on_block(Block(Direction.OUTPUT, outdata[:, 0], time.monotonic(), dac_s, bool(status)))


def _close_all(streams: Iterable[Any]) -> None:
    """Close every stream (closing an active one aborts it); log a failure and close the rest."""
    for stream in streams:
        try:
            stream.close(ignore_errors=False)
        except Exception as exc:
            log.warning("closing an audio stream failed: %s", exc)


def _close_opened(opened: tuple[list[Any], tuple[float, float]]) -> None:
    _close_all(opened[0])


async def _close_off_loop(streams: list[Any]) -> None:
    """Close the streams on a throw-away thread; a close that hangs is abandoned (and logged)."""
    try:
        await _off_loop(lambda: _close_all(streams))
    except TimeoutError as exc:
        log.warning("closing the audio streams: %s; abandoned", exc)


async def _off_loop(
    call: Callable[[], T],
    timeout_s: float = DEVICE_CALL_TIMEOUT_S,
    *,
    if_late: Callable[[T], None] | None = None,
) -> T:
    """Run a PortAudio call on a fresh daemon thread; give up waiting after ``timeout_s``.

    A result that arrives after we gave up (timed out or cancelled) goes to
    ``if_late`` on another throw-away thread: a stream opened too late must be
    closed, not leaked.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def deliver(result: T) -> None:
        if not done.done():
            done.set_result(result)
        elif if_late is not None:
            threading.Thread(target=if_late, args=(result,), name="voxroom-device-call", daemon=True).start()

    def fail(error: BaseException) -> None:
        if not done.done():
            done.set_exception(error)

    def run() -> None:
        try:
            result = call()
        except BaseException as exc:
            loop.call_soon_threadsafe(fail, exc)
        else:
            loop.call_soon_threadsafe(deliver, result)

    threading.Thread(target=run, name="voxroom-device-call", daemon=True).start()
    try:
        return await asyncio.wait_for(done, timeout_s)
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
        pcm = sine_burst()

        def play() -> None:
            _sd().play(pcm, samplerate=SAMPLE_RATE, device=output_device or None, blocking=True)

        await _off_loop(play, TEST_TONE_S + DEVICE_CALL_TIMEOUT_S)

    async def start_meter(self, input_device: str, on_level: Callable[[float], None]) -> None:
        """Tell ``on_level`` the microphone's level (dBFS) every 50 ms, on the loop, until stopped."""
        await self.stop_meter()
        loop = asyncio.get_running_loop()
        blocks = 0

        def callback(indata: Any, _frames: int, _time: Any, _status: Any) -> None:  # PortAudio's thread
            nonlocal blocks
            blocks += 1
            if blocks % METER_EVERY_BLOCKS == 0:
                loop.call_soon_threadsafe(on_level, level_dbfs(indata[:, 0]))

        def open_meter() -> Any:
            stream = _sd().InputStream(
                device=input_device or None,
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="int16",
                blocksize=BLOCK_SAMPLES,
                callback=callback,
            )
            try:
                stream.start()
            except Exception:
                _close_all([stream])
                raise
            return stream

        self._meter = await _off_loop(open_meter, if_late=lambda stream: _close_all([stream]))

    async def stop_meter(self) -> None:
        stream, self._meter = self._meter, None
        if stream is not None:
            await _close_off_loop([stream])
