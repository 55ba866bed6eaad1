"""Typed messages of protocol v1.

Each message is a ``msgspec.Struct`` tagged by its ``type`` field, with field
rules declared next to the field so that decoding *is* validation. Client
requests are named as verbs, server notifications in the past tense.
"""

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from . import limits
from .text import check_nonce, clean_chat, clean_username

Room = Annotated[str, Meta(min_length=1, max_length=limits.MAX_ROOM_CHARS, pattern=limits.ROOM_PATTERN)]
Nonce = Annotated[str, Meta(max_length=limits.MAX_NONCE_CHARS)]
ChatId = Annotated[int, Meta(ge=0, le=2**63 - 1)]  # SQLite's INTEGER range


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


ClientMessage = Join | SendChat | SendSignal | SetState | Leave


# --- server -> client -------------------------------------------------------


class Peer(msgspec.Struct):
    id: str
    username: str
    muted: bool
    deafened: bool
    voice: bool


class SelfInfo(msgspec.Struct):
    id: str
    username: str


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


class PeerJoined(_Message, tag="peer-joined"):
    peer: Peer


class PeerLeft(_Message, tag="peer-left"):
    id: str


class PeerStateChanged(_Message, tag="peer-state"):
    id: str
    muted: bool
    deafened: bool
    voice: bool


class SignalRelayed(_Message, tag="signal"):
    from_: str = msgspec.field(name="from")
    payload: dict[str, Any]


class ErrorReported(_Message, tag="error"):
    code: str
    message: str
    ref: str | None = None
    target: str | None = None


ServerMessage = Joined | PeerJoined | PeerLeft | PeerStateChanged | ChatPosted | SignalRelayed | ErrorReported
