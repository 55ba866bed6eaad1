"""Typed messages of protocol v1.

Each message is a ``msgspec.Struct`` tagged by its ``type`` field, with field
rules declared next to the field so that decoding *is* validation. Client
requests are named as verbs, server notifications in the past tense.
"""

from enum import StrEnum
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from . import limits
from .text import check_nonce, clean_chat, clean_reason, clean_username

Room = Annotated[str, Meta(min_length=1, max_length=limits.MAX_ROOM_CHARS, pattern=limits.ROOM_PATTERN)]
Nonce = Annotated[str, Meta(max_length=limits.MAX_NONCE_CHARS)]
ChatId = Annotated[int, Meta(ge=0, le=2**63 - 1)]  # SQLite's INTEGER range
Reason = Annotated[str, Meta(max_length=limits.MAX_REASON_CHARS)]
Sdp = Annotated[str, Meta(min_length=1, max_length=limits.MAX_SDP_CHARS)]
BanSeconds = Annotated[int, Meta(ge=1, le=limits.MAX_BAN_S)]
PageSize = Annotated[int, Meta(ge=1, le=limits.MAX_HISTORY_PAGE)]


class Role(StrEnum):
    """What a peer may do in its room; a moderator joined with the server's admin password."""

    MEMBER = "member"
    MODERATOR = "moderator"


class MediaMode(StrEnum):
    """How a room's call carries audio (docs/protocol.md, "Media server")."""

    MESH = "mesh"
    """Peer to peer: one connection per pair, set up with ``signal``."""
    SERVER = "server"
    """Through the server's media server: one connection up and one down per client."""


class ModAction(StrEnum):
    """What a moderator did, in a ``moderated`` notice: the request's ``type``."""

    KICK = "kick"
    BAN = "ban"
    SERVER_MUTE = "server-mute"
    LOCK_ROOM = "lock-room"


class _Message(msgspec.Struct, tag_field="type", omit_defaults=True, kw_only=True):
    """Base: every message is a JSON object whose ``type`` names it."""


# --- client -> server -------------------------------------------------------


class Join(_Message, tag="join"):
    room: Room
    username: str
    password: str | None = None
    voice: bool = True
    resume: str | None = None
    since: ChatId | None = None
    admin_password: str | None = None
    """Moderation addition: the server's admin password makes the peer a moderator."""
    room_password: str | None = None
    """Moderation addition: what a room given a password by ``lock-room`` asks of new joins."""
    media_server: bool = False
    """Media-server addition: the client can take the call through the server's media server."""

    def __post_init__(self) -> None:
        self.username = clean_username(self.username, limits.MAX_USERNAME_CHARS)


class SendChat(_Message, tag="chat"):
    text: str
    nonce: Nonce | None = None

    def __post_init__(self) -> None:
        self.text = clean_chat(self.text, limits.MAX_CHAT_CHARS)
        if self.nonce is not None:
            check_nonce(self.nonce)


class SendSignal(_Message, tag="signal"):
    target: str
    payload: dict[str, Any]

    def __post_init__(self) -> None:
        if len(msgspec.json.encode(self.payload)) > limits.MAX_SIGNAL_PAYLOAD_BYTES:
            raise ValueError(f"payload is over {limits.MAX_SIGNAL_PAYLOAD_BYTES} bytes")


class SetState(_Message, tag="state"):
    muted: bool | None = None
    deafened: bool | None = None
    voice: bool | None = None


class Leave(_Message, tag="leave"):
    pass


class FetchHistory(_Message, tag="history"):
    """Paging addition (docs/protocol.md, "Paging back"): the room's chats before ``before``."""

    before: ChatId
    limit: PageSize = limits.MAX_HISTORY_PAGE


# Media-server addition (docs/protocol.md, "Media server"): only in a room whose mode is "server".


class PublishMedia(_Message, tag="media-publish"):
    """The client's offer for its sending connection (one audio track, ``sendonly``)."""

    sdp: Sdp


class AnswerMedia(_Message, tag="media-answer"):
    """The client's answer to the last ``media-offer`` (its receiving connection)."""

    sdp: Sdp


# Moderation addition (docs/protocol.md, "Moderation"): moderators only.


class Kick(_Message, tag="kick"):
    target: str
    reason: Reason = ""

    def __post_init__(self) -> None:
        self.reason = clean_reason(self.reason)


class Ban(_Message, tag="ban"):
    target: str
    reason: Reason = ""
    duration_s: BanSeconds = limits.DEFAULT_BAN_S

    def __post_init__(self) -> None:
        self.reason = clean_reason(self.reason)


class ServerMute(_Message, tag="server-mute"):
    target: str
    muted: bool


class LockRoom(_Message, tag="lock-room"):
    locked: bool
    password: str | None = None
    """With ``locked``, new joins need it instead of being refused."""


ModRequest = Kick | Ban | ServerMute | LockRoom
MediaRequest = PublishMedia | AnswerMedia
ClientMessage = (
    Join
    | SendChat
    | SendSignal
    | SetState
    | Leave
    | FetchHistory
    | Kick
    | Ban
    | ServerMute
    | LockRoom
    | PublishMedia
    | AnswerMedia
)


# --- server -> client -------------------------------------------------------


class Peer(msgspec.Struct, omit_defaults=True):
    id: str
    username: str
    muted: bool
    """Whether the peer sends no audio: its own choice, or forced by ``server_muted``."""
    deafened: bool
    voice: bool
    role: Role = Role.MEMBER
    server_muted: bool = False


class SelfInfo(msgspec.Struct, omit_defaults=True):
    id: str
    username: str
    role: Role = Role.MEMBER


class IceServer(msgspec.Struct, omit_defaults=True):
    """A W3C ``RTCIceServer``."""

    urls: list[str]
    username: str | None = None
    credential: str | None = None


class ServerInfo(msgspec.Struct):
    version: str


class ChatPosted(_Message, tag="chat"):
    id: int
    from_: str = msgspec.field(name="from")
    username: str
    text: str
    ts: int
    nonce: str | None = None


class Joined(_Message, tag="joined"):
    room: str
    self_: SelfInfo = msgspec.field(name="self")
    peers: list[Peer]
    history: list[ChatPosted]
    resume: str
    resumed: bool
    ice_servers: list[IceServer]
    server: ServerInfo
    history_truncated: bool = False
    media: MediaMode = MediaMode.MESH
    """Media-server addition: left out while "mesh", and only ever "server" for a client that asked."""


class HistoryFetched(_Message, tag="history"):
    """Paging addition: the answer to ``history``, oldest first; ``more`` says older chats exist."""

    before: int
    history: list[ChatPosted]
    more: bool


class PeerJoined(_Message, tag="peer-joined"):
    peer: Peer


class PeerLeft(_Message, tag="peer-left"):
    id: str


class PeerStateChanged(_Message, tag="peer-state"):
    id: str
    muted: bool
    deafened: bool
    voice: bool
    server_muted: bool = False


class Moderated(_Message, tag="moderated"):
    """A moderator acted; the whole room hears it, the target first of all."""

    action: ModAction
    by: str
    """The moderator's peer id."""
    by_username: str
    target: str | None = None
    target_username: str | None = None
    reason: str | None = None
    duration_s: int | None = None
    muted: bool | None = None
    locked: bool | None = None
    with_password: bool | None = None


class SignalRelayed(_Message, tag="signal"):
    from_: str = msgspec.field(name="from")
    payload: dict[str, Any]


class MediaSwitched(_Message, tag="media"):
    """Media-server addition: the room's call now goes this way (sent to clients that asked only)."""

    mode: MediaMode


class MediaPublished(_Message, tag="media-published"):
    """The media server's answer to ``media-publish``."""

    sdp: str


class MediaStream(msgspec.Struct):
    """One received stream of the receiving connection: its SDP ``mid`` and whose voice it is."""

    mid: str
    peer: str


class MediaOffered(_Message, tag="media-offer"):
    """An offer for the client's receiving connection, sent again whenever its streams change."""

    sdp: str
    streams: list[MediaStream]


class ErrorReported(_Message, tag="error"):
    code: str
    message: str
    ref: str | None = None
    target: str | None = None


ServerMessage = (
    Joined
    | PeerJoined
    | PeerLeft
    | PeerStateChanged
    | ChatPosted
    | SignalRelayed
    | ErrorReported
    | Moderated
    | HistoryFetched
    | MediaSwitched
    | MediaPublished
    | MediaOffered
)
