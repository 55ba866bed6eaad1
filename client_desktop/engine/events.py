"""What the engine tells its owner, as past-tense values, and the enums they carry.

The owner (the Qt bridge, the bot) receives them through one callable,
always on the event loop's thread. Names differ from the protocol's messages
on purpose: ``PeerArrived`` is what the engine makes of a ``peer-joined``
(or of a peer listed in a ``joined``), not the message itself.

They are ``msgspec.Struct``s, like the protocol's messages, rather than dataclasses: the app
imports this module before its window shows, and this module's body ran in 5 ms instead of 25
(docs/benchmarks.md, the app's start).
"""

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, assert_never

import msgspec

from protocol import (
    ChatPosted,
    ErrorCode,
    IceServer,
    MediaMode,
    MediaStream,
    ModAction,
    Moderated,
    Peer,
    Role,
)

if TYPE_CHECKING:  # the codes load with the engine, not at the app's start (see problems.py)
    from .problems import DeviceFailure, Reason


class FailureCode(StrEnum):
    """Why joining failed, or why the connection was given up for good."""

    AUTH_FAILED = ErrorCode.AUTH_FAILED.value
    NAME_TAKEN = ErrorCode.NAME_TAKEN.value
    ROOM_FULL = ErrorCode.ROOM_FULL.value
    SERVER_FULL = ErrorCode.SERVER_FULL.value
    BAD_MESSAGE = ErrorCode.BAD_MESSAGE.value
    BANNED = ErrorCode.BANNED.value
    """A moderator banned our address (a join refused, or the close that ended our place)."""
    ROOM_LOCKED = ErrorCode.ROOM_LOCKED.value
    KICKED = ErrorCode.KICKED.value
    """A moderator removed us from the room (close code 4001)."""
    UNREACHABLE = "unreachable"
    """No connection: refused, unknown host, timeout, or not a Voxroom server."""
    TLS = "tls"
    """The secure connection failed, usually an untrusted certificate."""
    SUPERSEDED = "superseded"
    """The place was taken over by another connection (close code 4000)."""
    INTERNAL = "internal"
    """A bug in the engine; reported rather than leaving the owner waiting."""


class CallState(StrEnum):
    """The peer-to-peer connection with one peer (``RTCPeerConnection.connectionState``)."""

    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"
    CLOSED = "closed"


class RoomJoined(msgspec.Struct, frozen=True):
    """In the room; after a reconnect, ``resumed`` says whether the place was kept.

    ``role`` is ours: a moderator (joined with the server's admin password) may moderate.
    """

    room: str
    self_id: str
    username: str
    peers: tuple[Peer, ...]
    resumed: bool
    ice_servers: tuple[IceServer, ...]
    role: Role = Role.MEMBER
    media: MediaMode = MediaMode.MESH
    """How the room's call carries audio now (media-server addition)."""


class PeerArrived(msgspec.Struct, frozen=True):
    peer: Peer


class PeerDeparted(msgspec.Struct, frozen=True):
    peer_id: str


class PeerUpdated(msgspec.Struct, frozen=True):
    """A peer's ``muted``/``deafened``/``voice`` changed (our own place too)."""

    peer: Peer


class ChatReceived(msgspec.Struct, frozen=True):
    """A chat message, delivered once per ``chat.id``, in id order."""

    chat: ChatPosted
    own: bool
    from_history: bool


class HistoryPaged(msgspec.Struct, frozen=True):
    """The answer to ``fetch_history``: the chats before ``before``, oldest first, not yet shown.

    They are not part of ``ChatReceived``'s once-per-id stream (all are
    ``from_history``). ``more``: older ones exist (ask again with the oldest
    id). ``error``: none came, and why in plain words; with ``more`` false it
    will not work on this server (it predates paging), with ``more`` true it may later.
    """

    before: int
    chats: tuple[ChatReceived, ...]
    more: bool
    error: str | None = None


class SignalReceived(msgspec.Struct, frozen=True):
    """A WebRTC signal from a peer, as relayed (the call core reads it)."""

    from_id: str
    payload: dict[str, object]


class MediaModeChanged(msgspec.Struct, frozen=True):
    """The room's call moved (``media``): to the media server, or back to the mesh."""

    mode: MediaMode


class PublishAnswered(msgspec.Struct, frozen=True):
    """The media server's answer (``media-published``) to our sending connection's offer."""

    sdp: str


class StreamsOffered(msgspec.Struct, frozen=True):
    """An offer (``media-offer``) for our receiving connection: one stream per voice we hear."""

    sdp: str
    streams: tuple[MediaStream, ...]


class ConnectionLost(msgspec.Struct, frozen=True):
    """The connection dropped; the next attempt starts in ``retry_in_s``."""

    reason: "Reason"
    retry_in_s: float


class ConnectionFailed(msgspec.Struct, frozen=True):
    """Given up for good; ``message`` says why (``str`` of it in English)."""

    code: FailureCode
    message: "Reason"


class ServerError(msgspec.Struct, frozen=True):
    """A non-fatal ``error`` from the server (``rate-limited``, ``unknown-target`` …).

    ``code`` stays a string: a newer server may send codes this version does not know.
    """

    code: str
    message: str
    ref: str | None


class RoomModerated(msgspec.Struct, frozen=True):
    """A moderator acted in our room (``moderated``), perhaps on us."""

    notice: Moderated

    @property
    def text(self) -> str:
        """The notice in words for people, as the room's status line shows it."""
        n = self.notice
        match n.action:
            case ModAction.KICK:
                done = f"{n.by_username} kicked {n.target_username}"
            case ModAction.BAN:
                done = f"{n.by_username} banned {n.target_username} for {duration_words(n.duration_s or 0)}"
            case ModAction.SERVER_MUTE:
                done = f"{n.by_username} {'muted' if n.muted else 'unmuted'} {n.target_username}"
            case ModAction.LOCK_ROOM:
                how = "with a password" if n.with_password else ""
                done = f"{n.by_username} {'locked' if n.locked else 'unlocked'} the room {how}".rstrip()
            case _:
                assert_never(n.action)
        return f"{done}: {n.reason}" if n.reason else done


def duration_words(seconds: int) -> str:
    """``86400`` as "1 day", ``5400`` as "90 minutes": the largest unit that says it exactly."""
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' * (count != 1)}"
    return f"{seconds} second{'s' * (seconds != 1)}"


SessionEvent = (
    RoomJoined
    | PeerArrived
    | PeerDeparted
    | PeerUpdated
    | ChatReceived
    | HistoryPaged
    | SignalReceived
    | MediaModeChanged
    | PublishAnswered
    | StreamsOffered
    | ConnectionLost
    | ConnectionFailed
    | ServerError
    | RoomModerated
)
"""What the signaling session reports."""
SessionEventSink = Callable[[SessionEvent], None]


class CallStateChanged(msgspec.Struct, frozen=True):
    peer_id: str
    state: CallState


class LevelsChanged(msgspec.Struct, frozen=True):
    """Every 100 ms: our input level, whether we transmit, and each peer's level (dBFS)."""

    input_dbfs: float
    transmitting: bool
    peers: dict[str, float]


class AudioDeviceFailed(msgspec.Struct, frozen=True):
    """A device vanished or failed; audio falls back (``fallback`` names to what, or '' for none).

    ``message`` and ``fallback`` are English (logs, the bot); ``codes`` says the same for an owner
    that words it itself (the UI, in the person's language); without them only ``message`` says it.
    """

    message: str
    fallback: str
    codes: "DeviceFailure | None" = None

    @classmethod
    def of(cls, codes: "DeviceFailure") -> "AudioDeviceFailed":
        """The event, its English said from ``codes``: ``fallback`` is "" when no device opened."""
        fallbacks = [f"the default {role}" for role in codes.on_default] + [
            f"no {role}" for role in codes.silent
        ]
        fallback = " and ".join(fallbacks) if codes.on_default else ""
        return cls("; ".join(map(str, codes.problems)), fallback, codes)


class RelayTrouble(StrEnum):
    """Why one TURN URL gave us no relay; the owner puts it in words (the UI in the person's language)."""

    CREDENTIALS_REFUSED = "credentials-refused"
    """A 401: the Voxroom server's TURN secret is not the relay's."""
    REFUSED = "refused"
    """Any other error answer; ``detail``: its code and reason (``403 Forbidden IP``)."""
    NO_ANSWER = "no-answer"
    """Nothing answered within ``waited_s``: blocked on this network, or down."""
    UNTRUSTED = "untrusted"
    """Its TLS certificate is not trusted; ``detail``: the verifier's reason."""
    CONNECTION_REFUSED = "connection-refused"
    """Nothing listens there."""
    UNREACHABLE = "unreachable"
    """The system cannot reach it; ``detail``: its error."""


class RelayFailure(msgspec.Struct, frozen=True):
    """One TURN URL that gave us no relay, and why: a code and its parameters, no sentence."""

    url: str
    """The URL and its transport, as shown: ``turn:relay.example.org:3478 (UDP)``."""
    trouble: RelayTrouble
    detail: str = ""
    """What the relay or the system said, as it said it (see ``RelayTrouble``), else ""."""
    waited_s: float = 0.0
    """For ``NO_ANSWER``: how long we waited."""

    @property
    def silent(self) -> bool:
        """Nothing answered at all."""
        return self.trouble is RelayTrouble.NO_ANSWER

    def __str__(self) -> str:
        """For logs and the bot: the URL and the code with its parameters."""
        said = f" ({self.detail})" if self.detail else f" ({self.waited_s:g} s)" if self.silent else ""
        return f"{self.url}: {self.trouble}{said}"


class RelayUnusable(msgspec.Struct, frozen=True):
    """No TURN server we were given would give us a relay: calls that need one will not connect;
    direct calls go on. ``failures``: each TURN URL tried, in the server's order, and why."""

    failures: tuple[RelayFailure, ...]

    def __str__(self) -> str:
        return "no TURN URL gave a relay: " + "; ".join(map(str, self.failures))


class MediaUnreachable(msgspec.Struct, frozen=True):
    """Our connection to the room's media server failed (its media port cannot be reached from here):
    nobody is heard and nobody hears us until the server offers the call again; chat goes on."""


EngineEvent = (
    RoomJoined
    | PeerArrived
    | PeerDeparted
    | PeerUpdated
    | ChatReceived
    | HistoryPaged
    | ConnectionLost
    | ConnectionFailed
    | ServerError
    | RoomModerated
    | CallStateChanged
    | LevelsChanged
    | AudioDeviceFailed
    | RelayUnusable
    | MediaUnreachable
)
"""What the engine reports to its owner (signals stay inside the engine)."""
EngineEventSink = Callable[[EngineEvent], None]
