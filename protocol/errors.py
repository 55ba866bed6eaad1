"""Error codes of protocol v1, its own close code, and the exception that carries an error.

``ProtocolError`` is what :func:`protocol.decode_client` raises; the server
turns it into an ``error`` message, so its ``message`` is written for people.
"""

from enum import IntEnum, StrEnum


class ErrorCode(StrEnum):
    """The ``code`` of an ``error`` message."""

    BAD_MESSAGE = "bad-message"
    NOT_JOINED = "not-joined"
    ALREADY_JOINED = "already-joined"
    AUTH_FAILED = "auth-failed"
    ROOM_FULL = "room-full"
    NAME_TAKEN = "name-taken"
    UNKNOWN_TARGET = "unknown-target"
    RATE_LIMITED = "rate-limited"
    SERVER_FULL = "server-full"
    # Not in the v1 table: a chat the server could not persist (docs/protocol.md).
    STORAGE_FAILED = "storage-failed"
    # Moderation addition (docs/protocol.md, "Moderation").
    NOT_MODERATOR = "not-moderator"
    KICKED = "kicked"
    BANNED = "banned"
    ROOM_LOCKED = "room-locked"
    # Media-server addition (docs/protocol.md, "Media server").
    MEDIA_UNSUPPORTED = "media-unsupported"
    MEDIA_FAILED = "media-failed"


class AppCloseCode(IntEnum):
    """Close codes of protocol v1 in the private range; the standard ones are websockets' ``CloseCode``."""

    SUPERSEDED = 4000
    """The place was resumed from another connection; the client must not reconnect."""
    KICKED = 4001
    """A moderator removed the peer; it may join again as a new peer."""
    BANNED = 4002
    """A moderator banned the peer's address; its joins are refused until the ban ends."""


class ProtocolError(Exception):
    """A message that protocol v1 rejects, with the code to answer it with."""

    def __init__(self, code: ErrorCode, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref
