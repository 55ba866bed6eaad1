"""Each room's chats delivered once each and in id order, whichever instance committed them.

Several instances commit chats to one database (which gives the ids) and
then announce them; announcements may arrive out of order, or not at all
when their instance died between its commit and its announcement. This core
holds a room's chats back until the one before has been delivered, and says
when a gap has lasted long enough to be read back from the store.
"""

from collections.abc import Container
from dataclasses import dataclass, field

from protocol import ChatPosted

GAP_WAIT_S = 1.0
"""How long a missing id may hold its room's later chats before the store is asked for it."""


@dataclass(slots=True)
class _Sequence:
    expected: int
    """The id to deliver next."""
    waiting: dict[int, ChatPosted] = field(default_factory=dict)
    gap_since: float | None = None
    """When the oldest of ``waiting`` began to wait (None: nothing waits)."""


class ChatOrder:
    """Per room, from a known starting id: what may be delivered now, and which gaps are overdue."""

    def __init__(self) -> None:
        self._rooms: dict[str, _Sequence] = {}

    def __contains__(self, room: str) -> bool:
        return room in self._rooms

    def start(self, room: str, last_id: int) -> None:
        """Members here know ``room``'s chats up to ``last_id``; a room already followed keeps its place."""
        if room not in self._rooms:
            self._rooms[room] = _Sequence(last_id + 1)

    def delivered(self, room: str) -> int | None:
        """The newest id delivered in ``room``, or None if the room is not followed."""
        sequence = self._rooms.get(room)
        return None if sequence is None else sequence.expected - 1

    def offer(self, room: str, chat: ChatPosted, now: float) -> list[ChatPosted]:
        """``chat`` was announced: the chats now deliverable, in order (none for a room not followed)."""
        sequence = self._rooms.get(room)
        if sequence is None or chat.id < sequence.expected:
            return []
        sequence.waiting[chat.id] = chat
        return _ready(sequence, now)

    def fill(self, room: str, chats: list[ChatPosted], now: float) -> list[ChatPosted]:
        """``chats`` (ascending ids) were read from the store after the room's newest delivered one.

        An id the store no longer has (retention removed it) is skipped.
        """
        sequence = self._rooms.get(room)
        if sequence is None:
            return []
        for chat in chats:
            if chat.id >= sequence.expected:
                sequence.waiting[chat.id] = chat
        if chats and sequence.waiting and sequence.expected not in sequence.waiting:
            sequence.expected = min(sequence.waiting)
        return _ready(sequence, now)

    def overdue(self, now: float) -> list[tuple[str, int]]:
        """Rooms whose gap has waited ``GAP_WAIT_S``, and the id to read after (again a second later)."""
        late = []
        for room, sequence in self._rooms.items():
            if sequence.gap_since is not None and now - sequence.gap_since >= GAP_WAIT_S:
                sequence.gap_since = now
                late.append((room, sequence.expected - 1))
        return late

    def rooms(self) -> list[str]:
        return list(self._rooms)

    def keep_only(self, rooms: Container[str]) -> None:
        """Forget the rooms not in ``rooms`` (those with no member here)."""
        for room in [r for r in self._rooms if r not in rooms]:
            del self._rooms[room]


def _ready(sequence: _Sequence, now: float) -> list[ChatPosted]:
    ready = []
    while sequence.expected in sequence.waiting:
        ready.append(sequence.waiting.pop(sequence.expected))
        sequence.expected += 1
    if not sequence.waiting:
        sequence.gap_since = None
    elif sequence.gap_since is None or ready:
        sequence.gap_since = now
    return ready
