"""Instrumented audio for the engine benchmark, built on the engine's public classes and hooks.

Capture is stamped when its frame or block is taken, playout when it is
handed over: ``ClockedPacedAudio`` wraps the callables ``PacedAudio.start``
is given; ``ProbedDeviceAudio`` uses ``DeviceAudio``'s ``on_block`` observer
(PortAudio's callbacks, with their ADC/DAC times) and ``StreamSettings``;
``BenchMixer`` wraps the packet sink ``Mixer.input_for`` returns.
"""

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from engine_clicks import Onsets
from engine_results import CallbackSummary

from client_desktop.engine.devices import Block, DeviceAudio, DeviceRef, Direction, StreamSettings
from client_desktop.engine.events import AudioDeviceFailed
from client_desktop.engine.media import Source
from client_desktop.engine.mixer import Mixer
from client_desktop.engine.pacer import PacedAudio
from client_desktop.engine.pcm import FRAME_S, Pcm
from client_desktop.engine.processing import ProcessingSettings, VoiceProcessor
from client_desktop.engine.rtp import OnPacket

Stamp = Callable[[Pcm, float], None]
"""Takes a frame or block and the ``time.monotonic()`` of its first sample."""


class ClockedPacedAudio(PacedAudio):
    """``PacedAudio`` whose ticks sit at ``phase_s`` on a shared 20 ms grid, with stamped frames.

    Why the phase: the receiver's next render after a packet lands is 0-20 ms
    away depending on how its clock sits against the sender's; pinning it lets
    the bench average over phases instead of drawing one lucky (or unlucky)
    value per run. The clock starts (``PacedAudio.start``) on the grid point.
    """

    def __init__(
        self,
        source: Source,
        phase_s: float = 0.0,
        on_capture: Stamp | None = None,
        on_render: Stamp | None = None,
    ) -> None:
        super().__init__(source)
        self.phase_s = phase_s
        self.on_capture = on_capture
        self.on_render = on_render
        self._starting: asyncio.TimerHandle | None = None

    def start(self, capture: Callable[[Pcm], None], render: Callable[[], Pcm]) -> None:
        on_capture, on_render = self.on_capture, self.on_render

        def stamped_capture(frame: Pcm) -> None:
            if on_capture is not None:
                on_capture(frame, time.monotonic())
            capture(frame)

        def stamped_render() -> Pcm:
            frame = render()
            if on_render is not None:
                on_render(frame, time.monotonic())
            return frame

        loop = asyncio.get_running_loop()  # its clock is time.monotonic(): one grid for every engine
        first = (math.floor(loop.time() / FRAME_S) + 1) * FRAME_S + self.phase_s
        self._starting = loop.call_at(first, super().start, stamped_capture, stamped_render)

    async def stop(self) -> None:
        if self._starting is not None:
            self._starting.cancel()
        await super().stop()


@dataclass
class CallbackLog:
    """One direction of a device: callback stamps and the xruns PortAudio flagged."""

    stamps: list[float] = field(default_factory=list)
    xruns: int = 0

    def summary(self) -> CallbackSummary:
        gaps = np.diff(np.array(self.stamps[50:])) * 1000 if len(self.stamps) > 51 else np.zeros(1)
        return CallbackSummary(
            callbacks=len(self.stamps),
            xruns=self.xruns,
            gap_p99_ms=round(float(np.percentile(gaps, 99)), 1),
            gap_max_ms=round(float(gaps.max()), 1),
        )


class ProbedDeviceAudio(DeviceAudio):
    """``DeviceAudio`` without voice processing, logging every callback and noting when it started.

    Clicks are found in the ``watch`` direction twice: by callback stamp
    (``onsets``) and on PortAudio's ADC/DAC clock (``device_onsets``).
    """

    def __init__(
        self,
        on_failure: Callable[[AudioDeviceFailed], None],
        input_device: DeviceRef,
        output_device: DeviceRef,
        streams: StreamSettings,
        watch: Direction,
    ) -> None:
        no_processing = VoiceProcessor(ProcessingSettings(False, False, False))
        super().__init__(
            on_failure, input_device, output_device, no_processing, streams=streams, on_block=self._seen
        )
        self.watch = watch
        self.input_log, self.output_log = CallbackLog(), CallbackLog()
        self.onsets, self.device_onsets = Onsets(), Onsets()
        self.started_at: float | None = None

    def start(self, capture: Callable[[Pcm], None], render: Callable[[], Pcm]) -> None:
        self.started_at = time.monotonic()
        super().start(capture, render)

    def _seen(self, block: Block) -> None:  # PortAudio's threads
        log = self.input_log if block.direction is Direction.INPUT else self.output_log
        log.stamps.append(block.at_s)
        log.xruns += block.xrun
        if block.direction is self.watch:
            self.onsets.feed(block.samples, block.at_s)
            self.device_onsets.feed(block.samples, block.device_time_s)


class BenchMixer(Mixer):
    """The engine's mixer behind a switchable blackout, noting when each peer's first packet came.

    Why: the loss scenario needs a burst of total loss on arrival (as
    ``LossyMixer`` in tests/engine/test_call.py), and the set-up breakdown
    needs the first packet's arrival, which the engine does not expose.
    """

    def __init__(self) -> None:
        super().__init__()
        self.blackout = False
        self.first_packet: dict[str, float] = {}

    def input_for(self, peer_id: str) -> OnPacket:
        push = super().input_for(peer_id)

        def stamped(seq: int, timestamp: int, payload: bytes) -> None:
            self.first_packet.setdefault(peer_id, time.monotonic())
            if not self.blackout:
                push(seq, timestamp, payload)

        return stamped
