"""Limits of protocol v1: the server defaults and the hard field rules.

Field rules (lengths, patterns) are part of the wire contract; the server
defaults can be changed by flags, so they are defaults, not invariants.
Close codes are websockets' ``frames.CloseCode`` and our ``AppCloseCode``.
"""

from typing import Final

VERSION: Final = 1
SUBPROTOCOL: Final = "voxroom.v1"
WS_PATH: Final = "/ws"
DEFAULT_PORT: Final = 8765
"""Where a server listens unless told otherwise, and where a bare ``host`` points a client."""

ROOM_PATTERN: Final = r"^[A-Za-z0-9_.\-]{1,64}\Z"
MAX_ROOM_CHARS: Final = 64
MAX_USERNAME_CHARS: Final = 32
MAX_CHAT_CHARS: Final = 2000
MAX_NONCE_CHARS: Final = 64
MAX_SIGNAL_PAYLOAD_BYTES: Final = 32 * 1024
MAX_SDP_CHARS: Final = 32 * 1024
"""An SDP in a media-server message: as long as a whole ``signal`` payload may be."""
MAX_REASON_CHARS: Final = 200
DEFAULT_BAN_S: Final = 86_400
MAX_BAN_S: Final = 366 * 86_400
"""Every ban expires: a day unless the moderator says otherwise, a year at most."""
HISTORY_ON_JOIN: Final = 50
MAX_HISTORY_SINCE: Final = 1000
MAX_HISTORY_PAGE: Final = 50
"""Paging addition: the most chats one ``history`` request asks for (docs/protocol.md, "Paging back")."""

DEFAULT_MAX_MESSAGE_BYTES: Final = 65_536
DEFAULT_MAX_ROOM_SIZE: Final = 16
DEFAULT_MAX_CONNECTIONS: Final = 10_000
CHAT_BURST_PER_RATE: Final = 2
"""A chat+state budget holds this many seconds of its rate, whatever the rate is set to."""
SIGNAL_BURST_PER_RATE: Final = 4
"""A signal budget holds this many seconds of its rate: a full room's call set-up fits."""
DEFAULT_CHAT_RATE_PER_S: Final = 20.0
DEFAULT_CHAT_BURST: Final = round(CHAT_BURST_PER_RATE * DEFAULT_CHAT_RATE_PER_S)
DEFAULT_SIGNAL_RATE_PER_S: Final = 100.0
DEFAULT_SIGNAL_BURST: Final = round(SIGNAL_BURST_PER_RATE * DEFAULT_SIGNAL_RATE_PER_S)
DEFAULT_GRACE_S: Final = 15.0
PING_INTERVAL_S: Final = 20.0
PING_TIMEOUT_S: Final = 20.0
