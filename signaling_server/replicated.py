"""What the instances of one service share: the entries of the rooms' log, and seeded randomness.

With ``--redis``, every instance appends what its connections do (opened,
a message, closed) to one ordered log, and applies the whole log, in order,
to its own copy of the rooms core (``Hub``). Each entry carries everything
a decision needs (the author's clock, the randomness for peer ids and resume
tokens), so every copy takes the same decisions with no lock; each instance
then executes only the effects that are its own (docs/architecture.md).
"""

import base64
import hashlib

import msgspec

from protocol import ChatPosted

from .model import AddressBan, PeerId, Place

INSTANCE_BITS = 32
"""A connection id is its instance's number shifted by this, plus the instance's own count."""


class Opened(msgspec.Struct, tag="opened", array_like=True):
    conn: int
    now: float
    address: str


class Received(msgspec.Struct, tag="received", array_like=True):
    conn: int
    now: float
    text: str
    """A message the author's gate let through (``Hub.screen``): garbage and floods stay out of the log."""
    seed: bytes
    """Fresh randomness from the author: the peer id and resume token a ``join`` gets derive from it."""


class Closed(msgspec.Struct, tag="closed", array_like=True):
    conn: int
    now: float


class Tick(msgspec.Struct, tag="tick", array_like=True):
    """The leader's clock: deadlines (joins, grace) pass at the same point of the log everywhere."""

    now: float


class Gone(msgspec.Struct, tag="gone", array_like=True):
    """An instance stopped renewing its liveness: its connections are closed (their places enter grace)."""

    instance: int
    now: float


class Announced(msgspec.Struct, tag="announced", array_like=True):
    """A chat its author's instance has committed: every instance delivers it in its room's id order."""

    room: str
    chat: ChatPosted


class Restored(msgspec.Struct, tag="restored", array_like=True):
    """The database's places and bans, seated once when the log starts (a first start, a Redis restart)."""

    places: list[Place]
    bans: list[AddressBan]
    now: float


Entry = Opened | Received | Closed | Tick | Gone | Announced | Restored

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Entry)


def encode(entry: Entry) -> bytes:
    return _encoder.encode(entry)


def decode(data: bytes) -> Entry:
    entry: Entry = _decoder.decode(data)
    return entry


def instance_of(conn: int) -> int:
    return conn >> INSTANCE_BITS


class SeededIds:
    """Peer ids and resume tokens derived from an entry's seed: the same in every copy of the core.

    Whoever reads the log can derive the tokens of the joins in it; the log
    lives in Redis, which the operator keeps as private as the database.
    """

    def __init__(self) -> None:
        self._seed = b""
        self._drawn = 0

    def reseed(self, seed: bytes) -> None:
        self._seed, self._drawn = seed, 0

    def _draw(self, size: int) -> bytes:
        self._drawn += 1
        return hashlib.blake2b(self._drawn.to_bytes(4, "big"), digest_size=size, key=self._seed).digest()

    def peer_id(self) -> PeerId:
        return PeerId(self._draw(8).hex())

    def token(self) -> str:
        return base64.urlsafe_b64encode(self._draw(24)).rstrip(b"=").decode()
