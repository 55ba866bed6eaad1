"""Audio that does not come from a device: tones and WAV files in, WAV files out.

These feed the bot and the tests; every frame is 20 ms of 48 kHz mono int16.
"""

import wave
from pathlib import Path
from typing import Protocol

import numpy as np

from .pcm import FRAME_SAMPLES, SAMPLE_RATE, Pcm


class Source(Protocol):
    def read(self) -> Pcm:
        """The next 20 ms."""
        ...


class Tone:
    """A sine wave, phase-continuous across frames."""

    def __init__(self, hz: float, dbfs: float = -12.0) -> None:
        self.hz = hz
        self.amplitude = 32767.0 * 10 ** (dbfs / 20)
        self._n = 0

    def read(self) -> Pcm:
        t = (np.arange(FRAME_SAMPLES) + self._n) / SAMPLE_RATE
        self._n += FRAME_SAMPLES
        return (self.amplitude * np.sin(2 * np.pi * self.hz * t)).astype(np.int16)


class Sink(Protocol):
    def write(self, frame: Pcm) -> None: ...

    def close(self) -> None: ...


class Silence:
    def read(self) -> Pcm:
        return np.zeros(FRAME_SAMPLES, dtype=np.int16)


class WavFile:
    """A 16-bit PCM WAV file, mixed down to mono; 48 kHz only (say so rather than resample badly)."""

    def __init__(self, path: Path, loop: bool = False) -> None:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise ValueError(f"{path}: only 16-bit PCM WAV files are supported")
            if wav.getframerate() != SAMPLE_RATE:
                raise ValueError(
                    f"{path}: the sample rate must be {SAMPLE_RATE} Hz, not {wav.getframerate()}"
                )
            data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
            channels = wav.getnchannels()
        samples = data.reshape(-1, channels).mean(axis=1).astype(np.int16)
        pad = (-len(samples)) % FRAME_SAMPLES
        self._samples = np.concatenate([samples, np.zeros(pad, dtype=np.int16)])
        self._pos = 0
        self._loop = loop

    def read(self) -> Pcm:
        if self._pos >= len(self._samples):
            if not self._loop or not len(self._samples):
                return np.zeros(FRAME_SAMPLES, dtype=np.int16)
            self._pos = 0
        frame = self._samples[self._pos : self._pos + FRAME_SAMPLES]
        self._pos += FRAME_SAMPLES
        return frame


class WavWriter:
    """Writes frames to a 48 kHz mono 16-bit WAV file."""

    def __init__(self, path: Path) -> None:
        self._wav = wave.open(str(path), "wb")  # noqa: SIM115 - closed by close()
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(SAMPLE_RATE)

    def write(self, frame: Pcm) -> None:
        self._wav.writeframes(frame.astype("<i2").tobytes())

    def close(self) -> None:
        self._wav.close()


def read_wav(path: Path) -> Pcm:
    """All samples of a mono 16-bit WAV file (for tests and tools)."""
    with wave.open(str(path), "rb") as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.int16)
