"""What the rooms core asks its transport to do, as plain values.

The core decides; the transport executes in the order given, per room. Two
effects carry work the transport must finish before sending: ``PostChat``
waits for the store to commit the message (and give it its ``id``), and
``SendJoined`` and ``SendHistory`` wait for a history read. Every effect names the ``room``
whose order it belongs to (``None`` before a join).
"""

from dataclasses import dataclass

import msgspec
from websockets.frames import CloseCode

from protocol import AppCloseCode, Joined, MediaRequest

from .model import AddressBan, ChatDraft, ConnId, PeerId, Place


@dataclass(frozen=True, slots=True)
class Send:
    room: str | None
    conns: tuple[ConnId, ...]
    message: msgspec.Struct


@dataclass(frozen=True, slots=True)
class PostChat:
    """Commit ``draft``, then send it to ``conns``; on failure tell ``sender``."""

    draft: ChatDraft
    sender: ConnId
    conns: tuple[ConnId, ...]

    @property
    def room(self) -> str:
        return self.draft.room


@dataclass(frozen=True, slots=True)
class SendJoined:
    """Send ``joined`` to ``conn`` once its history (after ``since``) is read."""

    room: str
    conn: ConnId
    message: Joined
    since: int | None


@dataclass(frozen=True, slots=True)
class SendHistory:
    """Read ``room``'s chats before ``before`` (at most ``limit``) and send them to ``conn``.

    Paging addition: the answer needs no place in the room's order, so it waits in no lane.
    """

    room: str
    conn: ConnId
    before: int
    limit: int


@dataclass(frozen=True, slots=True)
class SavePlace:
    room: str
    place: Place


@dataclass(frozen=True, slots=True)
class DropPlace:
    room: str
    place: Place


@dataclass(frozen=True, slots=True)
class SaveBan:
    room: str
    ban: AddressBan


@dataclass(frozen=True, slots=True)
class PauseReading:
    """Read nothing more from ``conn`` for ``seconds`` (a flood's window is already over)."""

    room: str | None
    conn: ConnId
    seconds: float


@dataclass(frozen=True, slots=True)
class Close:
    room: str | None
    conn: ConnId
    code: CloseCode | AppCloseCode
    reason: str


@dataclass(frozen=True, slots=True)
class MediaRequested:
    """``peer`` (on ``conn``) sent a valid ``media-publish`` or ``media-answer``: the media shell's to do."""

    room: str
    peer: PeerId
    conn: ConnId
    message: MediaRequest


@dataclass(frozen=True, slots=True)
class MediaDropped:
    """``peer`` no longer takes part in ``room``'s call through the media server: its handles go."""

    room: str
    peer: PeerId


@dataclass(frozen=True, slots=True)
class MediaClosed:
    """``room`` is empty: its media server room goes."""

    room: str


@dataclass(frozen=True, slots=True)
class MediaResumed:
    """``peer`` resumed its place: what the media shell sent it while it was away is sent again."""

    room: str
    peer: PeerId


MediaEffect = MediaRequested | MediaDropped | MediaResumed | MediaClosed
Effect = (
    Send
    | PostChat
    | SendJoined
    | SendHistory
    | SavePlace
    | DropPlace
    | SaveBan
    | PauseReading
    | Close
    | MediaEffect
)
