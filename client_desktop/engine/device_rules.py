"""Which sound device a stream should use, given what the sound system lists now: pure decisions.

A device is named as in ``AudioOptions`` (``""`` is the system default).
The chosen one is used while it is listed; when it vanishes its direction
falls back to the default, and when it is listed again it is used again.
The other direction is never touched. Listing, watching and opening are
the I/O layer's (``device_watch``, ``devices``).
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
