"""Short sounds for what happens in the room (someone joins or leaves, we mute or unmute), synthesised.

They are made here rather than shipped as files: four sine chimes cost a
few lines, need no decoder, and are already in the engine's format (48 kHz
mono). Join and leave are two notes, rising and falling; mute and unmute
one short note, low and high, so each is told apart without looking.
The engine mixes them into what the speaker plays (``Mixer.play``), so the
echo canceller hears them too and deafening silences them.
"""

from dataclasses import dataclass
from functools import cache
from typing import Final

import numpy as np
import numpy.typing as npt

from .pcm import SAMPLE_RATE
from .shapes import Cue as Cue

PEAK: Final = 0.3
"""A cue's loudest sample at full volume, as a fraction of full scale: clearly heard, never harsh."""
ATTACK_S: Final = 0.004
RELEASE_S: Final = 0.012
DECAY_S: Final = 0.09
"""How fast a note fades (its amplitude falls by e every DECAY_S): a soft chime, not a beep."""
OVERTONE: Final = 0.2
"""The octave above, at this amplitude: warmer than a bare sine."""


@dataclass(frozen=True, slots=True)
class Note:
    hz: float
    seconds: float


C5, E5, G5, A4 = 523.25, 659.25, 783.99, 440.0
NOTES: Final[dict[Cue, tuple[Note, ...]]] = {
    Cue.JOIN: (Note(C5, 0.09), Note(G5, 0.13)),
    Cue.LEAVE: (Note(G5, 0.09), Note(C5, 0.13)),
    Cue.MUTE: (Note(A4, 0.11),),
    Cue.UNMUTE: (Note(E5, 0.11),),
}


def samples(cue: Cue, volume: float) -> npt.NDArray[np.float32]:
    """The cue at ``volume`` (0 to 1), in int16 units as float (the mixer's own scale)."""
    return _shape(cue) * np.float32(PEAK * 32767 * min(1.0, max(0.0, volume)))


def duration_s(cue: Cue) -> float:
    return sum(note.seconds for note in NOTES[cue])


@cache
def _shape(cue: Cue) -> npt.NDArray[np.float32]:
    shape = np.concatenate([_note(note) for note in NOTES[cue]]).astype(np.float32)
    shape.flags.writeable = False  # shared by every call: nobody may change it
    return shape


def _note(note: Note) -> npt.NDArray[np.float64]:
    """One note peaking at 1: a quick rise, an exponential fade, a short release to 0 (no click)."""
    n = round(note.seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * note.hz * t) + OVERTONE * np.sin(4 * np.pi * note.hz * t)
    envelope = np.exp(-t / DECAY_S) * np.minimum(1.0, t / ATTACK_S)
    release = round(RELEASE_S * SAMPLE_RATE)
    envelope[-release:] *= np.cos(np.linspace(0, np.pi / 2, release)) ** 2
    shaped: npt.NDArray[np.float64] = tone * envelope
    return shaped / float(np.max(np.abs(shaped)))
