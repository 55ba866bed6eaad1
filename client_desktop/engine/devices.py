"""Sound cards, through sounddevice (PortAudio): the only module that imports it.

Capture and playback run in PortAudio's callback threads. Capture frames
go to the uplink (which hands packets to the loop thread-safely); playback
pulls from the mixer (which owns the lock between the loop and this
thread). Nothing here blocks the event loop. A device that fails or
vanishes is reported, and audio falls back to the default device, then to
none; a sound system that dies ends both directions, said once. The call
and the chat go on either way.

Two public hooks exist for measuring rather than for the app: the streams'
block size and latency (``StreamSettings``), and an observer that sees each
callback's block with its timestamps (``on_block``). bench/engine_audio.py
uses both.
"""

import asyncio
import atexit
import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

import numpy as np

from .device_rules import STALL_S, DeviceList, Fate, Notice, StreamLife, pick, server_gone
from .device_rules import STARTUP_S as STARTUP_S  # bench/engine_pulse.py reads it here
from .device_rules import Direction as Direction
from .device_watch import DeviceWatch
from .events import AudioDeviceFailed
from .pcm import FRAME_SAMPLES, SAMPLE_RATE, Pcm, level_dbfs
from .problems import DeviceFailure, DeviceProblem, DeviceRole, DeviceTrouble
from .processing import VoiceProcessor
from .tasks import cancel_and_wait

log = logging.getLogger("voxroom.devices")

Latency = Literal["low", "high"] | float
"""PortAudio's suggested latency: its ``"low"`` or ``"high"`` default for the device, or seconds."""

BLOCK_SAMPLES = 480
"""10 ms device blocks, the first step back from PortAudio's own when the audio threads fall behind."""
LATENCY: Latency = "low"
"""PortAudio's 'low' latency: ~61 ms mouth-to-ear through PulseAudio against ~91 ms at 'high'."""
XRUNS_BEFORE_STEADIER = 10
"""Over- or underruns within one watch period that make us reopen with steadier settings."""
DEVICE_CALL_TIMEOUT_S = 5.0
FATE_POLL_S = 0.05
"""How often the other streams are looked at while waiting to know whether the sound system died."""
SERVER_GONE = DeviceProblem(DeviceTrouble.SERVER_GONE)
"""What is said, once, when the sound system itself stops answering."""
EXIT_WAIT_S = 1.0
"""How long the process's exit waits for a PortAudio call still running on a throw-away thread."""
DeviceRef = int | str | None
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """How both streams are opened: samples per callback (0: PortAudio chooses) and latency.

    PortAudio's own block size is the default: on an idle machine it took 30 ms off mouth to ear
    against 10 ms blocks (docs/benchmarks.md), and where the audio threads are starved its small
    callbacks fall behind, which ``steadier`` answers."""

    blocksize: int = 0
    latency: Latency = LATENCY

    def __post_init__(self) -> None:
        if self.blocksize < 0:
            raise ValueError(f"blocksize must be 0 or more, not {self.blocksize}")
        if not isinstance(self.latency, str) and self.latency <= 0:
            raise ValueError(f"latency must be 'low', 'high' or positive seconds, not {self.latency}")

    def steadier(self) -> "StreamSettings | None":
        """What to reopen with after repeated xruns: PortAudio's blocks, then 10 ms ones, then 'high'
        latency; None once there is nothing steadier to try."""
        if self.blocksize == 0:
            return replace(self, blocksize=BLOCK_SAMPLES)
        if self.latency != "high":
            return replace(self, latency="high")
        return None


DEFAULT_STREAMS = StreamSettings()


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


@functools.cache
def _sd() -> Any:
    """Import sounddevice lazily: without PortAudio the app still runs, chat only."""
    import sounddevice

    atexit.register(_spare_portaudio_at_exit)  # after sounddevice's own handler: so it runs before it
    return sounddevice


_calls = 0
"""PortAudio calls running on throw-away threads (``_portaudio_thread``)."""
_calls_done = threading.Condition()


def _spare_portaudio_at_exit() -> None:
    """Keep sounddevice's exit handler from terminating PortAudio while one of its calls still runs.

    WORKAROUND for PortAudio 19.6's ALSA host API (Debian 12's libportaudio2):
    when the sound server dies while a stream starts, the stream's callback
    thread takes its start-up mutex (``PaUnixThread_PrepareNotify``), fails in
    ``AlsaStart`` and exits still holding it, so ``Pa_StartStream`` waits for
    that mutex forever (our thread gives up after ``DEVICE_CALL_TIMEOUT_S``),
    and ``Pa_Terminate`` at exit, closing that stream, destroys the locked
    mutex: ``PaUnixMutex_Terminate`` asserts and the process aborts (rc 134).
    The process is ending, so leaving PortAudio as it is costs nothing.
    """
    with _calls_done:
        if _calls_done.wait_for(lambda: _calls == 0, EXIT_WAIT_S):
            return
    log.warning("a sound system call never returned: PortAudio is left to the exit")
    _sd()._initialized = 0  # sounddevice's exit handler terminates PortAudio this many times


def _portaudio_thread(call: Callable[[], None]) -> None:
    """Run ``call`` (which calls PortAudio) on a fresh daemon thread, counted until it returns."""
    global _calls

    def run() -> None:
        global _calls
        try:
            call()
        finally:
            with _calls_done:
                _calls -= 1
                _calls_done.notify_all()

    with _calls_done:
        _calls += 1
    threading.Thread(target=run, name="voxroom-device-call", daemon=True).start()


_PORTAUDIO = threading.Lock()
"""Held while a stream opens (its routing is in the environment) and while PortAudio rescans."""
_open_streams = 0
"""Streams open in this process: PortAudio is rescanned only when none is (a rescan stops them all)."""
_portaudio_names: frozenset[str] = frozenset()
"""What PortAudio listed last: a choice among these is PortAudio's device, not the watch's."""
ROUTE_VIA = "pulse"
"""ALSA's PulseAudio device as PortAudio lists it: a stream to a sink or source of the server opens it."""


def _query(sd: Any) -> list[Any]:
    """PortAudio's devices (with ``_PORTAUDIO`` held), remembered by name."""
    global _portaudio_names
    infos = list(sd.query_devices())
    _portaudio_names = frozenset(str(info["name"]) for info in infos)
    return infos


def list_devices(rescan: bool = False) -> list[Device]:
    """Every device PortAudio sees; ``rescan`` re-reads them (hot-plugged devices) unless a stream is open."""
    sd = _sd()
    with _PORTAUDIO:
        if rescan and _open_streams == 0:
            sd._terminate()
            sd._initialize()
        default_in, default_out = sd.default.device
        infos = _query(sd)
    return [
        Device(
            index=i,
            name=str(info["name"]),
            inputs=int(info["max_input_channels"]),
            outputs=int(info["max_output_channels"]),
            is_default_input=i == default_in,
            is_default_output=i == default_out,
        )
        for i, info in enumerate(infos)
    ]


def device_names() -> DeviceList:
    """PortAudio's inputs and outputs by name, for a sound system we cannot watch (no PulseAudio)."""
    devices = list_devices(rescan=True)
    return DeviceList.named([d.name for d in devices if d.inputs], [d.name for d in devices if d.outputs])


def _open_stream(direction: Direction, device: DeviceRef, **kwargs: Any) -> Any:
    """Open (not start) a PortAudio stream on ``device``: PortAudio's name or index, else the sound server's.

    A name PortAudio does not list is a PulseAudio sink or source (``DeviceWatch``
    lists them): ALSA's pulse device is opened with ``PULSE_SINK`` or
    ``PULSE_SOURCE`` naming it, which libpulse reads as the stream connects. A
    name the server does not know fails to open, as a missing card does.
    """
    global _open_streams
    sd = _sd()
    kind = sd.InputStream if direction is Direction.INPUT else sd.OutputStream
    variable = "PULSE_SOURCE" if direction is Direction.INPUT else "PULSE_SINK"
    with _PORTAUDIO:
        names = {str(info["name"]) for info in _query(sd)}
        if not isinstance(device, str) or device in names or ROUTE_VIA not in names:
            stream = kind(device=device, **kwargs)
        else:
            before = os.environ.get(variable)
            os.environ[variable] = device
            try:
                stream = kind(device=ROUTE_VIA, **kwargs)
            finally:
                if before is None:
                    del os.environ[variable]
                else:
                    os.environ[variable] = before
        _open_streams += 1
    return stream


def _started(stream: Any) -> Any:
    try:
        stream.start()
    except Exception:
        _close_all([stream])
        raise
    return stream


WHAT = {Direction.INPUT: DeviceRole.MICROPHONE, Direction.OUTPUT: DeviceRole.SPEAKER}


class DeviceAudio:
    """Microphone in, speaker out, with 10 ms blocks and the voice processor in between.

    Each direction has its own stream: one that is switched, falls back or
    comes back leaves the other running. PortAudio calls that can hang
    (opening, stopping, closing a stream on a sound server that died) run on
    a throw-away thread with a deadline, so the event loop never waits on a
    sound card.

    Args:
        streams: block size and latency; after repeated xruns they step back
            (``StreamSettings.steadier``) whatever was chosen.
        on_block: sees every callback's block (see ``Block``).
        watch: the sound server's devices as they come and go: a chosen one
            that vanishes falls back to the default, and is used again when
            it is back (``device_rules.pick``). Without it a device that
            vanishes is noticed only if its stream stops.
    """

    def __init__(
        self,
        on_failure: Callable[[AudioDeviceFailed], None],
        input_device: DeviceRef = None,
        output_device: DeviceRef = None,
        processor: VoiceProcessor | None = None,
        *,
        streams: StreamSettings = DEFAULT_STREAMS,
        on_block: BlockObserver | None = None,
        watch: DeviceWatch | None = None,
    ) -> None:
        self.input_device = input_device
        self.output_device = output_device
        self.processor = processor or VoiceProcessor()
        self.streams = streams
        self._on_failure = on_failure
        self._on_block = on_block
        self._watch = watch
        self._unsubscribe: Callable[[], None] | None = None
        self._labels: dict[str, str] = {}  # names the watch listed, as people read them: for a device gone
        self._devices_changed = asyncio.Event()
        self._busy = asyncio.Lock()  # one opening or closing at a time: the watchdog, the watch, a switch
        self._lock = threading.Lock()  # the processor is shared by both callback threads
        self._open: dict[Direction, Any] = {}
        self._in_use: dict[Direction, DeviceRef] = {}
        self._latency: dict[Direction, float] = {}
        self._capture_buf = np.zeros(0, dtype=np.int16)
        self._play_buf = np.zeros(0, dtype=np.int16)
        self._capture: Callable[[Pcm], None] | None = None
        self._render: Callable[[], Pcm] | None = None
        self._last_callback = dict.fromkeys(Direction, 0.0)  # 0 until a stream's first callback
        self._opened_at = dict.fromkeys(Direction, 0.0)
        self._task: asyncio.Task[None] | None = None
        self._xruns = 0

    # --- AudioIO -------------------------------------------------------------------

    def start(self, capture: Callable[[Pcm], None], render: Callable[[], Pcm]) -> None:
        self._capture, self._render = capture, render
        if self._watch is not None:
            devices = self._watch.devices
            self._labels.update((d.name, d.label) for d in (*devices.inputs, *devices.outputs))
            self._unsubscribe = self._watch.subscribe(lambda _devices: self._devices_changed.set())
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await cancel_and_wait(self._task)
        self._task = None
        async with self._busy:
            await self._close(*Direction)

    async def switch(self, input_device: DeviceRef, output_device: DeviceRef) -> None:
        """Use other devices now, without restarting the call; a direction that keeps its device goes on."""
        changed = {
            direction: device
            for direction, device, before in (
                (Direction.INPUT, input_device, self.input_device),
                (Direction.OUTPUT, output_device, self.output_device),
            )
            if device != before or self._in_use.get(direction, device) != device
        }
        self.input_device, self.output_device = input_device, output_device
        async with self._busy:
            await self._close(*changed)
            await self._open_each(changed)

    @property
    def running(self) -> bool:
        return bool(self._open)

    @property
    def in_use(self) -> dict[Direction, DeviceRef]:
        """The device each open stream uses (None: the default)."""
        return dict(self._in_use)

    @property
    def latency_s(self) -> tuple[float, float] | None:
        """(input, output) latency of the streams as PortAudio reports them; None unless both are open."""
        if len(self._latency) < len(Direction):
            return None
        return self._latency[Direction.INPUT], self._latency[Direction.OUTPUT]

    # --- streams -------------------------------------------------------------------

    def _chosen(self) -> dict[Direction, DeviceRef]:
        return {Direction.INPUT: self.input_device, Direction.OUTPUT: self.output_device}

    async def _run(self) -> None:
        """Open the devices, then watch them: follow the sound server's list; reopen a stream that stops."""
        async with self._busy:
            await self._open_each(self._chosen())
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._devices_changed.wait(), STALL_S / 2)
            async with self._busy:
                if self._devices_changed.is_set():
                    self._devices_changed.clear()
                    await self._follow_devices()
                await self._watchdog()

    async def _watchdog(self) -> None:
        """A stream that stops calling back (unplugged) has failed; repeated xruns ask for steadier ones."""
        xruns, self._xruns = self._xruns, 0
        now = time.monotonic()
        stalled = [d for d in self._open if self._life(d).fate(now, now) is Fate.DEAD]
        if stalled:
            await self._close(*stalled)
            await self._open_each(dict.fromkeys(stalled), DeviceProblem(DeviceTrouble.STOPPED))
        elif (
            self._open
            and xruns >= XRUNS_BEFORE_STEADIER
            and (steadier := self.streams.steadier()) is not None
        ):
            log.warning("%d audio over/underruns in %.1f s: reopening with %s", xruns, STALL_S / 2, steadier)
            self.streams = steadier
            reopen = {d: self._in_use[d] for d in self._open}
            await self._close(*reopen)
            await self._open_each(reopen)

    async def _follow_devices(self) -> None:
        """Move each open direction to what ``pick`` says given the watch's list; leave the other alone."""
        assert self._watch is not None
        devices = self._watch.devices
        self._labels.update((d.name, d.label) for d in (*devices.inputs, *devices.outputs))
        for direction, chosen in self._chosen().items():
            if direction not in self._open or not isinstance(chosen, str) or chosen in _portaudio_names:
                continue  # PortAudio's own devices: it cannot see them come or go while streams run
            listed = devices.inputs if direction is Direction.INPUT else devices.outputs
            in_use = self._in_use[direction]
            decided = pick(chosen, [d.name for d in listed], in_use if isinstance(in_use, str) else "")
            if decided.device == (in_use or ""):
                continue
            await self._close(direction)
            if decided.notice is Notice.LOST:
                gone = self._labels.get(chosen, chosen)
                await self._open_each(
                    {direction: None}, DeviceProblem(DeviceTrouble.DISCONNECTED, WHAT[direction], gone)
                )
            else:
                log.info("the %s %r is back: using it again", WHAT[direction], chosen)
                await self._open_each({direction: decided.device or None})

    async def _open_each(
        self, wanted: dict[Direction, DeviceRef], trouble: DeviceProblem | None = None
    ) -> None:
        """Open each direction on its device, else the default, else none; report anything but the first.

        A default that will not open may mean the sound system died: then
        every direction ends, said once (``device_rules.server_gone``).
        """
        problems = [trouble] if trouble else []
        on_default: list[DeviceRole] = []
        silent: list[DeviceRole] = []
        failed_at: list[float] = []  # when each default would not open
        for direction, device in wanted.items():
            what = WHAT[direction]
            if device is not None:
                try:
                    await self._open_one(direction, device)
                    continue
                except Exception as exc:
                    problems.append(DeviceProblem(DeviceTrouble.CANNOT_OPEN, what, str(device), _why(exc)))
            try:
                await self._open_one(direction, None)
                if trouble or device is not None:
                    on_default.append(what)
            except Exception as exc:
                problems.append(DeviceProblem(DeviceTrouble.CANNOT_OPEN, what, "", _why(exc)))
                silent.append(what)
                failed_at.append(time.monotonic())
        if failed_at and await self._server_gone(len(failed_at), failed_at[-1]):
            log.warning("%s: %s", "; ".join(map(str, problems)), SERVER_GONE)
            await self._close(*self._open)
            self._report(AudioDeviceFailed.of(DeviceFailure((SERVER_GONE,))))
        elif problems:
            self._report(
                AudioDeviceFailed.of(DeviceFailure(tuple(problems), tuple(on_default), tuple(silent)))
            )

    async def _server_gone(self, unopenable: int, since_s: float) -> bool:
        """Wait till each open stream shows if it outlived ``since_s`` (a stall past its start-up at most)."""
        while True:
            now = time.monotonic()
            gone = server_gone(unopenable, [self._life(d).fate(since_s, now) for d in self._open])
            if gone is not None:
                return gone
            await asyncio.sleep(FATE_POLL_S)

    def _life(self, direction: Direction) -> StreamLife:
        stream = self._open[direction]
        return StreamLife(self._opened_at[direction], self._last_callback[direction], not stream.active)

    async def _open_one(self, direction: Direction, device: DeviceRef) -> None:
        settings = {
            "samplerate": SAMPLE_RATE,
            "channels": 1,
            "dtype": "int16",
            "blocksize": self.streams.blocksize,
            "latency": self.streams.latency,
            "callback": self._on_input if direction is Direction.INPUT else self._on_output,
        }
        self._last_callback[direction] = 0.0
        stream = await _off_loop(
            lambda: _started(_open_stream(direction, device, **settings)),
            if_late=lambda late: _close_all([late]),
        )
        self._opened_at[direction] = time.monotonic()
        self._open[direction], self._in_use[direction] = stream, device
        self._latency[direction] = float(stream.latency)

    async def _close(self, *directions: Direction) -> None:
        streams = [self._open.pop(d) for d in directions if d in self._open]
        for direction in directions:
            self._in_use.pop(direction, None)
            self._latency.pop(direction, None)
        if streams:
            await _close_off_loop(streams)

    def _report(self, failure: AudioDeviceFailed) -> None:
        log.warning("%s; falling back to %s", failure.message, failure.fallback or "no audio")
        self._on_failure(failure)

    # --- callbacks (PortAudio's threads) ------------------------------------------

    def _on_input(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        now = time.monotonic()
        self._last_callback[Direction.INPUT] = now
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
        self._last_callback[Direction.OUTPUT] = time.monotonic()
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


def _why(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _close_all(streams: Iterable[Any]) -> None:
    """Close every stream (closing an active one aborts it); log a failure and close the rest."""
    global _open_streams
    for stream in streams:
        try:
            stream.close(ignore_errors=False)
        except Exception as exc:
            log.warning("closing an audio stream failed: %s", exc)
        with _PORTAUDIO:
            _open_streams -= 1


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
            _portaudio_thread(lambda: if_late(result))

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

    _portaudio_thread(run)
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
            stream = _started(
                _open_stream(
                    Direction.OUTPUT, output_device or None, samplerate=SAMPLE_RATE, channels=1, dtype="int16"
                )
            )
            try:
                stream.write(pcm.reshape(-1, 1))
                stream.stop()  # returns once the tone has been played
            finally:
                _close_all([stream])

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
            return _started(
                _open_stream(
                    Direction.INPUT,
                    input_device or None,
                    samplerate=SAMPLE_RATE,
                    channels=1,
                    dtype="int16",
                    blocksize=BLOCK_SAMPLES,
                    callback=callback,
                )
            )

        self._meter = await _off_loop(open_meter, if_late=lambda stream: _close_all([stream]))

    async def stop_meter(self) -> None:
        stream, self._meter = self._meter, None
        if stream is not None:
            await _close_off_loop([stream])
