"""Echo cancellation, noise suppression, high-pass and gain control on the capture path.

WebRTC's own audio processing module, through the ``livekit`` wheel: the
same code browsers run, maintained, and cheap enough to run on every
frame (its cost is in docs/benchmarks.md). It works on 10 ms frames, so
each 20 ms frame is two calls. What we play is fed back as the "reverse
stream" so the echo canceller knows what the microphone may hear.
"""

import numpy as np
from livekit import rtc

from .pcm import FRAME_SAMPLES, SAMPLE_RATE, Pcm
from .shapes import ProcessingSettings as ProcessingSettings

_HALF = FRAME_SAMPLES // 2


class VoiceProcessor:
    """Not thread-safe: capture and playback call it from the audio threads in turn."""

    def __init__(self, settings: ProcessingSettings = ProcessingSettings()) -> None:
        self.settings = settings
        self._apm = self._make(settings)

    def configure(self, settings: ProcessingSettings) -> None:
        if settings != self.settings:
            self.settings = settings
            self._apm = self._make(settings)

    def capture(self, frame: Pcm) -> Pcm:
        """The microphone's 20 ms, cleaned."""
        if self._apm is None:
            return frame
        out = np.array(frame, dtype=np.int16)
        for start in (0, _HALF):
            chunk = rtc.AudioFrame(out[start : start + _HALF].tobytes(), SAMPLE_RATE, 1, _HALF)
            self._apm.process_stream(chunk)
            out[start : start + _HALF] = np.frombuffer(chunk.data, dtype=np.int16)
        return out

    def played(self, frame: Pcm) -> None:
        """What the speaker is about to play: the echo canceller's reference."""
        if self._apm is None or not self.settings.echo_cancellation:
            return
        for start in (0, _HALF):
            self._apm.process_reverse_stream(
                rtc.AudioFrame(frame[start : start + _HALF].tobytes(), SAMPLE_RATE, 1, _HALF)
            )

    @staticmethod
    def _make(settings: ProcessingSettings) -> rtc.AudioProcessingModule | None:
        if not settings.any:
            return None
        return rtc.AudioProcessingModule(
            echo_cancellation=settings.echo_cancellation,
            noise_suppression=settings.noise_suppression,
            high_pass_filter=settings.noise_suppression,
            auto_gain_control=settings.auto_gain_control,
        )
