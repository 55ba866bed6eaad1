"""The engine's one audio format: 48 kHz mono int16, in 20 ms frames, and its level.

Every stage (devices, processing, codec, playout, mixing, files) speaks it,
so nothing is resampled or re-framed between them.
"""

from typing import Final

import numpy as np
import numpy.typing as npt

SAMPLE_RATE: Final = 48_000
FRAME_SAMPLES: Final = 960
FRAME_S: Final = FRAME_SAMPLES / SAMPLE_RATE
SILENCE_DBFS: Final = -100.0

Pcm = npt.NDArray[np.int16]


def level_dbfs(frame: npt.NDArray[np.int16] | npt.NDArray[np.float32]) -> float:
    """RMS level of a frame in dB relative to int16 full scale."""
    if frame.size == 0:
        return SILENCE_DBFS
    rms = float(np.sqrt(np.mean(np.square(frame, dtype=np.float64))))
    return max(SILENCE_DBFS, 20.0 * np.log10(rms / 32768.0)) if rms > 0 else SILENCE_DBFS
