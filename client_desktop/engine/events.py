"""What the engine tells its owner, as past-tense values.

The owner (the Qt bridge, the bot) receives them through one callable,
always on the event loop's thread.
"""

from collections.abc import Callable
from dataclasses import dataclass

from protocol import ChatPosted, IceServer, Peer


@dataclass(frozen=True, slots=True)
class RoomJoined:
    """In the room; after a reconnect, ``resumed`` says whether the place was kept."""

    room: str
    self_id: str
    username: str
    peers: tuple[Peer, ...]
    resumed: bool
    ice_servers: tuple[IceServer, ...]


@dataclass(frozen=True, slots=True)
class PeerJoined:
    peer: Peer


@dataclass(frozen=True, slots=True)
class PeerLeft:
    peer_id: str


@dataclass(frozen=True, slots=True)
class PeerStateChanged:
    peer: Peer


@dataclass(frozen=True, slots=True)
class ChatReceived:
    """A chat message, delivered once per ``chat.id``, in id order."""

    chat: ChatPosted
    own: bool
    from_history: bool


@dataclass(frozen=True, slots=True)
class SignalReceived:
    from_id: str
    payload: dict[str, object]


@dataclass(frozen=True, slots=True)
class ConnectionLost:
    """The connection dropped; the next attempt starts in ``retry_in_s``."""

    reason: str
    retry_in_s: float


@dataclass(frozen=True, slots=True)
class ConnectionFailed:
    """Given up: ``code`` is a protocol error code (``auth-failed`` …) or ``unreachable``/``tls``."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class ServerError:
    """A non-fatal ``error`` from the server (``rate-limited``, ``unknown-target`` …)."""

    code: str
    message: str
    ref: str | None


Event = (
    RoomJoined
    | PeerJoined
    | PeerLeft
    | PeerStateChanged
    | ChatReceived
    | SignalReceived
    | ConnectionLost
    | ConnectionFailed
    | ServerError
)
EventSink = Callable[[Event], None]


@dataclass(frozen=True, slots=True)
class CallStateChanged:
    """The peer-to-peer connection with one peer: ``connecting``, ``connected``, ``failed``, ``closed``."""

    peer_id: str
    state: str


@dataclass(frozen=True, slots=True)
class LevelsChanged:
    """Every 100 ms: our input level, whether we transmit, and each peer's level (dBFS)."""

    input_dbfs: float
    transmitting: bool
    peers: dict[str, float]


@dataclass(frozen=True, slots=True)
class AudioDeviceFailed:
    """A device vanished or failed; audio falls back (``fallback`` names to what, or '' for none)."""

    message: str
    fallback: str


EngineEvent = Event | CallStateChanged | LevelsChanged | AudioDeviceFailed
EngineEventSink = Callable[[EngineEvent], None]
