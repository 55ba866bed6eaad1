"""Which rooms' calls go through the media server, and who may use it: a pure part of the rooms core.

docs/protocol.md, "Media server": a room's mode becomes ``server`` when its
voices exceed ``mesh_limit`` while the media server is reachable, and stays so
while the room lives and the media server does. Clients that asked
(``join.media_server``) are told ``media``; the others get
``media-unsupported`` once, at the switch or at their ``joined``. When the
media shell loses the media server, a room small enough for its mesh falls
back to it (``media`` ``mesh``) and a bigger one is told it waits; a mesh room
that grows past the limit meanwhile is told once and switches when the media
server is back. Valid media requests and the places that stop taking part
become effects for the media shell (signaling_server/media.py), which does the
I/O. ``Hub`` calls in here at its joins, state changes, requests, unseats and
the shell's reports; nothing here reads a clock.
"""

import logging
from collections.abc import Collection, Mapping

import msgspec

from protocol import ErrorCode, ErrorReported, MediaMode, MediaRequest, MediaSwitched, limits

from .effects import Effect, MediaClosed, MediaDropped, MediaRequested, MediaResumed, Send
from .model import ConnId, PeerId, Place

log = logging.getLogger("voxroom.server.rooms")

UNSUPPORTED = "this room's call goes through a media server your app cannot use; chat still works"
MESH_MAX_VOICES = limits.DEFAULT_MAX_ROOM_SIZE
"""What a full mesh carries (v1's room size): more voices only through the media server."""
UNREACHABLE = "the media server is unreachable; the call resumes when it is back"


def over_limit(mesh_limit: int) -> str:
    """What a mesh room's members read when it grows past the limit while the media server is away."""
    return f"room over {mesh_limit} voices but the media server is unreachable; the call stays peer to peer"


class MediaRooms:
    """The rooms whose mode is ``server``, and the places whose clients asked for it.

    Args:
        enabled: the server has a media server (without one every room stays a mesh).
        mesh_limit: the most voices a room's mesh carries.
    """

    def __init__(self, enabled: bool, mesh_limit: int) -> None:
        self.enabled, self.mesh_limit = enabled, mesh_limit
        self.reachable = True
        """What the media shell last reported; until its first report, rooms may switch (it is starting)."""
        self._server: set[str] = set()
        self._asking: set[PeerId] = set()
        self._waiting: set[str] = set()
        """Mesh rooms that grew past the limit while the media server was unreachable (told once)."""

    def mode(self, room: str) -> MediaMode:
        return MediaMode.SERVER if room in self._server else MediaMode.MESH

    def joined(self, place: Place, asked: bool, places: Collection[Place]) -> tuple[MediaMode, list[Effect]]:
        """``place`` joined or resumed (``places``: its room's, itself included): its ``joined.media``
        and what follows its ``joined``: a resumed place that takes part gets what it missed meanwhile."""
        effects: list[Effect] = []
        if asked and self._takes_part(place):
            effects.append(MediaResumed(place.room, place.peer_id))
        elif asked:
            self._asking.add(place.peer_id)
        elif self._takes_part(place):  # resumed from an app that cannot: its Janus side goes
            self._asking.discard(place.peer_id)
            effects.append(MediaDropped(place.room, place.peer_id))
        effects += self._switch_if_grown(place.room, places, but=place)
        if place.room not in self._server:
            return MediaMode.MESH, effects
        if asked:
            return MediaMode.SERVER, effects
        assert place.conn is not None
        return MediaMode.MESH, [*effects, Send(place.room, (place.conn,), _unsupported())]

    def voice_refused(self, room: str, places: Collection[Place]) -> str | None:
        """Why one more voice may not join ``room``'s call (None: it may): a mesh carries at most 16.

        Only a room that stays a mesh with it can be full: while the media
        server is unreachable, or with ``mesh_limit`` of 16 and more.
        """
        voices = _voices(places)
        if not self.enabled or room in self._server or voices < MESH_MAX_VOICES:
            return None
        if self.reachable and voices >= self.mesh_limit:
            return None  # it moves the call to the media server
        why = " while the media server is unreachable" if not self.reachable else ""
        return f"the room's call is full: {MESH_MAX_VOICES} voices peer to peer{why}; join with voice off"

    def voice_changed(self, place: Place, places: Collection[Place]) -> list[Effect]:
        """``place`` turned its voice on (the room may grow past its mesh) or off (it stops publishing)."""
        if place.voice:
            return self._switch_if_grown(place.room, places)
        effects: list[Effect] = [MediaDropped(place.room, place.peer_id)] if self._takes_part(place) else []
        return effects + self._fall_back_if_small(place.room, places)

    def unseated(self, place: Place, places: Collection[Place]) -> list[Effect]:
        """``place`` left, was removed, or its grace is over (``places``: those left in its room)."""
        effects: list[Effect] = [MediaDropped(place.room, place.peer_id)] if self._takes_part(place) else []
        self._asking.discard(place.peer_id)
        if places:
            return effects + self._fall_back_if_small(place.room, places)
        self._waiting.discard(place.room)
        if place.room in self._server:
            self._server.discard(place.room)
            log.info("media closed room=%s", place.room)
            effects.append(MediaClosed(place.room))
        return effects

    def lost(self, rooms: Mapping[str, Collection[Place]]) -> list[Effect]:
        """The media shell lost the media server: each room on it falls back to its mesh, or waits.

        ``rooms``: every room's places. A repeated report (each failed attempt to reconnect) adds nothing.
        """
        if not self.enabled or not self.reachable:
            return []
        self.reachable = False
        log.warning("media unreachable rooms=%d", len(self._server))
        effects: list[Effect] = []
        for room in sorted(self._server):
            if _voices(rooms[room]) <= self.mesh_limit:
                effects += self._fall_back_if_small(room, rooms[room])
            else:
                log.info("media waits room=%s mode=server", room)
                effects += self._tell_asking(room, rooms[room], _failed(UNREACHABLE))
        return effects

    def reached(self, rooms: Mapping[str, Collection[Place]]) -> list[Effect]:
        """The media shell has a (new) session: the rooms on it publish anew, those that waited switch.

        Every report counts, the first one too: a publish that found no session
        while the shell was starting is made again.
        """
        if not self.enabled:
            return []
        self.reachable = True
        effects: list[Effect] = []
        for room in sorted(self._server):
            log.info("media back room=%s", room)
            effects += self._tell_asking(room, rooms[room], MediaSwitched(mode=MediaMode.SERVER))
        for room in sorted(self._waiting):
            effects += self._switch_if_grown(room, rooms[room])
        self._waiting.clear()
        return effects

    def request(self, place: Place, conn: ConnId, message: MediaRequest, ref: str) -> list[Effect]:
        """A ``media-publish`` or ``media-answer``: for the media shell, or ``bad-message`` saying why not."""
        if place.room not in self._server:
            reason = "this room's call does not go through the media server"
        elif place.peer_id not in self._asking:
            reason = "join with media_server true to use the media server"
        elif not place.voice:
            reason = "turn voice on first: only voices take part in the call"
        elif not self.reachable:
            return [Send(place.room, (conn,), _failed(UNREACHABLE, ref))]
        else:
            return [MediaRequested(place.room, place.peer_id, conn, message)]
        return [
            Send(
                place.room, (conn,), ErrorReported(code=ErrorCode.BAD_MESSAGE.value, message=reason, ref=ref)
            )
        ]

    def _takes_part(self, place: Place) -> bool:
        return place.room in self._server and place.peer_id in self._asking

    def _switch_if_grown(
        self, room: str, places: Collection[Place], but: Place | None = None
    ) -> list[Effect]:
        """Switch ``room`` to the media server once its voices exceed the mesh limit; tell its members.

        While the media server is unreachable the room stays a mesh, and its members are told so once.
        """
        if not self.enabled or room in self._server:
            return []
        voices = _voices(places)
        if voices <= self.mesh_limit:
            return []
        if not self.reachable:
            if room in self._waiting:
                return []
            self._waiting.add(room)
            log.info("media waits room=%s mode=mesh voices=%d limit=%d", room, voices, self.mesh_limit)
            return self._tell_asking(room, places, _failed(over_limit(self.mesh_limit)))
        self._server.add(room)
        log.info("media switched room=%s mode=server voices=%d limit=%d", room, voices, self.mesh_limit)
        live = [p for p in places if p.conn is not None and p is not but]
        asking = tuple(p.conn for p in live if p.peer_id in self._asking and p.conn is not None)
        others = tuple(p.conn for p in live if p.peer_id not in self._asking and p.conn is not None)
        effects: list[Effect] = []
        if asking:
            effects.append(Send(room, asking, MediaSwitched(mode=MediaMode.SERVER)))
        if others:
            effects.append(Send(room, others, _unsupported()))
        return effects

    def _fall_back_if_small(self, room: str, places: Collection[Place]) -> list[Effect]:
        """While the media server is unreachable, a room on it that its mesh can carry goes back to that."""
        if self.reachable or room not in self._server or _voices(places) > self.mesh_limit:
            return []
        self._server.discard(room)
        log.info("media switched room=%s mode=mesh (media server unreachable)", room)
        return self._tell_asking(room, places, MediaSwitched(mode=MediaMode.MESH))

    def _tell_asking(self, room: str, places: Collection[Place], message: msgspec.Struct) -> list[Effect]:
        """``message`` to the connected places of ``room`` whose clients asked for the media server."""
        conns = tuple(p.conn for p in places if p.conn is not None and p.peer_id in self._asking)
        return [Send(room, conns, message)] if conns else []


def _voices(places: Collection[Place]) -> int:
    return sum(1 for p in places if p.voice)


def _failed(words: str, ref: str | None = None) -> ErrorReported:
    return ErrorReported(code=ErrorCode.MEDIA_FAILED.value, message=words, ref=ref)


def _unsupported() -> ErrorReported:
    return ErrorReported(code=ErrorCode.MEDIA_UNSUPPORTED.value, message=UNSUPPORTED)
