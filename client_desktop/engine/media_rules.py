"""Which way our call goes, mesh or media server, as a pure core: room events and a clock in, actions out.

The server decides a room's mode (docs/protocol.md, "Media server"); this
core decides what our side does about it. In ``"server"`` mode with our
voice on we publish (one sending connection) and take the media server's
offers (one receiving connection); in ``"mesh"`` mode the call mesh runs.
A switch from mesh to server in a running call publishes at once and keeps
the mesh's links until the receiving connection carries every voice of the
mesh call (``media_ready``) or ``retire_after_s`` passed, so the call
never goes quiet while both paths are being set up; the peers switch too,
so no ``bye`` is said. Voice off closes both media connections; voice on
publishes again. A ``media`` message that repeats ``"server"`` (the media
server came back, say) publishes again too.

Like ``CallRules`` it does no I/O and reads no clock: each input takes
``now`` and returns the actions to execute, in order; the owner re-arms one
timer at ``get_timer()`` and calls ``handle_timer(now)`` when it fires.
"""

import logging
from dataclasses import dataclass
from typing import Final

from protocol import MediaMode

log = logging.getLogger("voxroom.media")

RETIRE_AFTER_S: Final = 2.0
"""The longest the mesh's links are kept after a switch to the media server."""


@dataclass(frozen=True, slots=True)
class OpenMesh:
    """Start a fresh call mesh with the room as it is now (none runs)."""


@dataclass(frozen=True, slots=True)
class RetireMesh:
    """Stop feeding the mesh: it takes no more offers, but its links play on until ``CloseMesh``."""


@dataclass(frozen=True, slots=True)
class CloseMesh:
    """Close the (retired) mesh's links, without ``bye``."""


@dataclass(frozen=True, slots=True)
class Publish:
    """Open a new sending connection (closing any old one) and send its offer as ``media-publish``."""


@dataclass(frozen=True, slots=True)
class CloseMedia:
    """Close the sending and the receiving connection; nothing of the media server plays any more."""


MediaAction = OpenMesh | RetireMesh | CloseMesh | Publish | CloseMedia


class MediaRules:
    """Our side of one room's call path; every input returns the actions to run, in order."""

    def __init__(self, retire_after_s: float = RETIRE_AFTER_S) -> None:
        self.retire_after_s = retire_after_s
        self.mode: MediaMode | None = None
        """None before the first ``joined``."""
        self.voice = False
        self._media_open = False
        self._answered = False
        """The server answered our last ``media-publish`` (``media-published``)."""
        self._retiring_until: float | None = None

    def get_timer(self) -> float | None:
        return self._retiring_until

    def joined(self, mode: MediaMode, voice: bool, resumed: bool, now: float) -> list[MediaAction]:
        """In the room (again). A fresh join (a new peer id) publishes anew; a resumed one keeps
        what it has, since the server kept our place (and its media) through the drop, unless
        our last ``media-publish`` was never answered (it may have been lost with the connection)."""
        self.voice = voice
        actions: list[MediaAction] = []
        if not resumed and self._media_open:
            actions.append(CloseMedia())
            self._media_open = False
        if mode is not self.mode:
            return actions + self._switch(mode, now, mid_call=False)
        if mode is MediaMode.SERVER and voice and not (self._media_open and self._answered):
            actions += self._publish()
        return actions

    def published(self) -> None:
        """The server answered our ``media-publish``."""
        self._answered = True

    def mode_changed(self, mode: MediaMode, now: float) -> list[MediaAction]:
        """The server moved the room's call (``media``); ``"server"`` again: publish again."""
        if mode is self.mode:
            return self._publish() if mode is MediaMode.SERVER and self.voice else []
        return self._switch(mode, now, mid_call=True)

    def set_voice(self, voice: bool, now: float) -> list[MediaAction]:
        """Our voice on or off. In mesh mode the mesh itself handles it (nothing here)."""
        if voice == self.voice:
            return []
        self.voice = voice
        if self.mode is not MediaMode.SERVER:
            return []
        if voice:
            return self._publish()
        actions: list[MediaAction] = self._close_retired()
        if self._media_open:
            self._media_open = False
            actions.append(CloseMedia())
        return actions

    def media_ready(self, now: float) -> list[MediaAction]:
        """The receiving connection carries every voice the mesh call had: the mesh can go."""
        return self._close_retired()

    def handle_timer(self, now: float) -> list[MediaAction]:
        if self._retiring_until is not None and now >= self._retiring_until:
            log.info("the mesh's links close: %g s after the switch", self.retire_after_s)
            return self._close_retired()
        return []

    def _switch(self, mode: MediaMode, now: float, *, mid_call: bool) -> list[MediaAction]:
        old, self.mode = self.mode, mode
        log.info("call path: %s -> %s", old, mode)
        if mode is MediaMode.MESH:
            actions = self._close_retired()
            if self._media_open:
                self._media_open = False
                actions.append(CloseMedia())
            return [*actions, OpenMesh()]
        actions = []
        if old is MediaMode.MESH:
            actions.append(RetireMesh())
            if mid_call and self.voice:
                self._retiring_until = now + self.retire_after_s
            else:
                actions.append(CloseMesh())  # no call to keep going: a reconnect, or voice off
        return actions + (self._publish() if self.voice else [])

    def _publish(self) -> list[MediaAction]:
        self._media_open, self._answered = True, False
        return [Publish()]

    def _close_retired(self) -> list[MediaAction]:
        if self._retiring_until is None:
            return []
        self._retiring_until = None
        return [CloseMesh()]
