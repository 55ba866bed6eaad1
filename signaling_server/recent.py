"""The newest messages of each live room, in memory: a newcomer's history without a store round trip.

Why: a join's history read went to the store thread and back (a queue, a
thread wake-up, a query, a wake-up of the loop) and was most of a join's
latency. A room's copy starts from a history read that was complete (its
``since`` was None and nothing was left out for lack of bytes), then every
chat committed in that room is added as its lane delivers it. Lanes deliver
in the store's order, so the copy always equals the store's newest
``HISTORY_ON_JOIN`` rows: the read came after every chat submitted before it
and before every chat submitted after it.

It is not used when retention may delete one of those rows (``--history-days``,
or ``--history-max-per-room`` under ``HISTORY_ON_JOIN``): the store's pruning
happens on its own thread, out of the lanes' order.
"""

from collections import deque
from collections.abc import Container
from dataclasses import dataclass

import msgspec

from protocol import ChatPosted, limits


@dataclass(slots=True)
class _Copy:
    chats: deque[tuple[ChatPosted, int]]
    """The newest chats and their size as JSON in a list (with a comma), oldest first."""


class RecentChats:
    """Per room, a copy of the store's newest ``HISTORY_ON_JOIN`` chats, once one read gave them."""

    def __init__(self) -> None:
        self._rooms: dict[str, _Copy] = {}

    def __len__(self) -> int:
        return len(self._rooms)

    def seed(self, room: str, history: list[ChatPosted]) -> None:
        """``history`` is a complete read of ``room``'s newest messages (no ``since``, nothing truncated)."""
        self._rooms[room] = _Copy(
            deque(((c, _size(c)) for c in history[-limits.HISTORY_ON_JOIN :]), maxlen=limits.HISTORY_ON_JOIN)
        )

    def add(self, posted: ChatPosted, room: str) -> None:
        """A chat of ``room`` committed, in the store's order."""
        copy = self._rooms.get(room)
        if copy is not None and not (copy.chats and posted.id <= copy.chats[-1][0].id):  # a replica's copy
            copy.chats.append((posted, _size(posted)))  # may come from a read that already had it

    def history(self, room: str, max_bytes: int) -> tuple[list[ChatPosted], bool] | None:
        """What ``Store.history(room, None, max_bytes)`` would return, or None without a copy.

        The same rule: newest first while they fit in ``max_bytes``; the flag
        says older messages were left out for lack of room.
        """
        copy = self._rooms.get(room)
        if copy is None:
            return None
        left, taken = max_bytes, 0
        for _, size in reversed(copy.chats):
            left -= size
            if left < 0:
                break
            taken += 1
        chats = copy.chats
        return [chats[i][0] for i in range(len(chats) - taken, len(chats))], taken < len(chats)

    def drop(self, room: str) -> None:
        """Forget ``room``'s copy: a chat's commit may or may not have happened."""
        self._rooms.pop(room, None)

    def keep_only(self, rooms: Container[str]) -> None:
        """Forget the copies of rooms not in ``rooms`` (those without places): memory stays bounded."""
        for name in [name for name in self._rooms if name not in rooms]:
            del self._rooms[name]


def _size(posted: ChatPosted) -> int:
    return len(msgspec.json.encode(posted)) + 1
