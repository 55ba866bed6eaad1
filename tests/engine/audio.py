"""What arrived: spectra and levels of recorded audio, and an in-memory sink."""

import numpy as np
import numpy.typing as npt

from client_desktop.engine.pcm import Pcm

RATE = 48_000


class Recorder:
    """A sink that keeps every frame, with the loop time it was rendered at."""

    def __init__(self) -> None:
        self.frames: list[Pcm] = []

    def write(self, frame: Pcm) -> None:
        self.frames.append(frame.copy())

    def close(self) -> None:
        pass

    def last(self, seconds: float) -> Pcm:
        n = int(seconds * 50)
        return np.concatenate(self.frames[-n:]) if self.frames else np.zeros(0, dtype=np.int16)

    def mark(self) -> int:
        return len(self.frames)

    def since(self, mark: int) -> Pcm:
        return np.concatenate(self.frames[mark:]) if len(self.frames) > mark else np.zeros(0, dtype=np.int16)


def peaks_hz(samples: npt.NDArray[np.int16], count: int = 1) -> list[float]:
    """The ``count`` strongest frequencies (0.5 Hz resolution via zero padding), strongest first."""
    x = samples.astype(np.float64) * np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(x, n=RATE * 2))
    freqs = np.fft.rfftfreq(RATE * 2, 1 / RATE)
    found: list[float] = []
    for _ in range(count):
        i = int(np.argmax(spectrum))
        found.append(float(freqs[i]))
        spectrum[max(0, i - 40) : i + 40] = 0  # suppress that peak's neighbourhood (±20 Hz)
    return found


def band_db(samples: npt.NDArray[np.int16], hz: float, width_hz: float = 20.0) -> float:
    """RMS level (dBFS) of the part of the signal within ``width_hz`` of ``hz``.

    A Hann window keeps a strong tone elsewhere from leaking into the band;
    dividing by its mean square (3/8) restores the level.
    """
    window = np.hanning(len(samples))
    spectrum = np.fft.rfft(samples.astype(np.float64) * window)
    freqs = np.fft.rfftfreq(len(samples), 1 / RATE)
    spectrum[np.abs(freqs - hz) > width_hz] = 0
    band = np.fft.irfft(spectrum, n=len(samples))
    rms = float(np.sqrt(np.mean(band**2) / np.mean(window**2)))
    return float(20 * np.log10(max(rms, 1e-9) / 32768))


def rms_db(samples: npt.NDArray[np.int16]) -> float:
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0
    return float(20 * np.log10(max(rms, 1e-9) / 32768))
