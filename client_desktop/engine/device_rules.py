"""Which sound device a stream should use, and whether it still lives: pure decisions.

A device is named as in ``AudioOptions`` (``""`` is the system default).
The chosen one is used while it is listed; when it vanishes its direction
falls back to the default, and when it is listed again it is used again.
The other direction is never touched, unless the sound system itself is
gone (``server_gone``). Listing, watching and opening are the I/O layer's
(``device_watch``, ``devices``).
"""

import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SoundDevice:
    """One input or output: ``name`` is what we open and remember, ``label`` what people read."""

    name: str
    label: str


@dataclass(frozen=True, slots=True)
class DeviceList:
    """The inputs and outputs the sound system offers now, in its order."""

    inputs: tuple[SoundDevice, ...] = ()
    outputs: tuple[SoundDevice, ...] = ()

    @classmethod
    def named(cls, inputs: Iterable[str], outputs: Iterable[str]) -> "DeviceList":
        """Devices whose name is their label (PortAudio's listing)."""
        return cls(tuple(SoundDevice(n, n) for n in inputs), tuple(SoundDevice(n, n) for n in outputs))


def labelled(devices: Iterable[tuple[str, str]]) -> tuple[SoundDevice, ...]:
    """Devices from (name, description) pairs; a description that repeats names its device too."""
    pairs = [(name, description or name) for name, description in devices]
    seen = Counter(description for _, description in pairs)
    return tuple(
        SoundDevice(name, description if seen[description] == 1 else f"{description} ({name})")
        for name, description in pairs
    )


class Notice(enum.Enum):
    """What to tell people about a decision."""

    LOST = "lost"
    """The chosen device vanished: its direction now uses the default."""
    BACK = "back"
    """The chosen device is listed again: it is used again."""


@dataclass(frozen=True, slots=True)
class Pick:
    device: str
    """The device to use ("" for the default)."""
    notice: Notice | None = None


def pick(chosen: str, listed: Iterable[str] | None, in_use: str) -> Pick:
    """The device one direction should use now.

    Args:
        chosen: the device the settings name ("" for the default).
        listed: the names the sound system lists for this direction, or None
            when it cannot say (no watcher): then the chosen one is tried.
        in_use: the device the open stream uses now ("" for the default).

    A change of ``Pick.device`` from ``in_use`` means: reopen this direction.
    """
    if not chosen:
        return Pick("")
    if listed is None or chosen in set(listed):
        return Pick(chosen, Notice.BACK if in_use != chosen else None)
    return Pick("", Notice.LOST if in_use == chosen else None)


class Direction(enum.Enum):
    INPUT = "input"
    OUTPUT = "output"


STALL_S = 1.0
"""A running stream silent this long has stopped (its device was unplugged, its server died)."""
STARTUP_S = 3.0
"""ALSA's pulse plugin takes 1-2 s before its first callbacks: not a stall."""


class Fate(enum.Enum):
    """What became of an open stream since some moment."""

    ALIVE = "alive"
    """It called back after that moment."""
    DEAD = "dead"
    """PortAudio ended it, or it has been silent past its deadline."""
    UNDECIDED = "undecided"
    """Neither yet: ask again later (``deadline``)."""


@dataclass(frozen=True, slots=True)
class StreamLife:
    """What the shell knows of one open stream, on the monotonic clock.

    ``last_callback_s`` is 0 until its first callback; ``ended`` says
    PortAudio no longer runs it (its callback thread gave up).
    """

    opened_s: float
    last_callback_s: float
    ended: bool

    def deadline(self) -> float:
        """When its silence makes it dead: a stall after its last callback, or after its start-up."""
        return max(self.last_callback_s, self.opened_s + STARTUP_S) + STALL_S

    def fate(self, since_s: float, now: float) -> Fate:
        """Did it live on after ``since_s``? (The watchdog asks with ``since_s=now``: dead or not yet.)"""
        if self.ended:
            return Fate.DEAD
        if self.last_callback_s > since_s:
            return Fate.ALIVE
        return Fate.DEAD if now > self.deadline() else Fate.UNDECIDED


def server_gone(unopenable: int, others: Iterable[Fate]) -> bool | None:
    """Did the sound system die, rather than one device? None: not decided yet (ask again).

    Args:
        unopenable: how many directions would not open even on the default,
            just now (at the start, or after their stream stopped).
        others: the fate, since the last of those failures, of every other
            open stream.

    No direction left, each one's default refusing or its stream dead, is
    the sound system gone (PulseAudio or PipeWire: one server behind both
    defaults): every direction ends, and that is said once, not once per
    direction as each is found. A stream that lives on means a lone device
    failed (an ALSA machine with a speaker but no microphone): it is kept,
    and only the failed direction is reported.
    """
    fates = list(others)
    if unopenable == 0 or unopenable + len(fates) < len(Direction) or Fate.ALIVE in fates:
        return False
    return None if Fate.UNDECIDED in fates else True
