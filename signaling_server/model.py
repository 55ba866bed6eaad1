"""The values the rooms core and the store share: places and chat drafts.

A *place* is a peer's seat in a room. It outlives its connection for the
grace period, which is what lets a client (or every client, after a server
restart) resume without the room noticing.
"""

from dataclasses import dataclass
from typing import NewType

from protocol import Role

ConnId = NewType("ConnId", int)
PeerId = NewType("PeerId", str)


@dataclass(slots=True)
class Place:
    peer_id: PeerId
    room: str
    username: str
    token_hash: str
    muted: bool = False
    deafened: bool = False
    voice: bool = True
    conn: ConnId | None = None
    grace_until: float | None = None
    """Wall-clock second at which an unattended place is given up."""
    address: str | None = None
    """The client address it was last joined from: places in grace are capped per address."""
    role: Role = Role.MEMBER
    server_muted: bool = False
    """A moderator muted it; ``muted`` stays the peer's own choice, restored when this is lifted."""


@dataclass(frozen=True, slots=True)
class AddressBan:
    """Joins from ``address`` are refused until wall-clock second ``until``."""

    address: str
    until: float
    reason: str


@dataclass(frozen=True, slots=True)
class ChatDraft:
    """A chat message before the store gives it its per-room ``id``."""

    room: str
    from_id: PeerId
    username: str
    text: str
    ts_ms: int
    nonce: str | None
