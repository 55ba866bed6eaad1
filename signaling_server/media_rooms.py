"""Which rooms' calls go through the media server, and who may use it: a pure part of the rooms core.

docs/protocol.md, "Media server": a room's mode becomes ``server`` when its
voices exceed ``mesh_limit`` and stays so while the room lives. Clients that
asked (``join.media_server``) are told ``media``; the others get
``media-unsupported`` once, at the switch or at their ``joined``. Valid media
requests and the places that stop taking part become effects for the media
shell (signaling_server/media.py), which does the I/O. ``Hub`` calls in here
at its joins, state changes, requests and unseats; nothing here reads a clock.
"""

import logging
from collections.abc import Collection

from protocol import ErrorCode, ErrorReported, MediaMode, MediaRequest, MediaSwitched

from .effects import Effect, MediaClosed, MediaDropped, MediaRequested, Send
from .model import ConnId, PeerId, Place

log = logging.getLogger("voxroom.server.rooms")

UNSUPPORTED = "this room's call goes through a media server your app cannot use; chat still works"


class MediaRooms:
    """The rooms whose mode is ``server``, and the places whose clients asked for it.

    Args:
        enabled: the server has a media server (without one every room stays a mesh).
        mesh_limit: the most voices a room's mesh carries.
    """

    def __init__(self, enabled: bool, mesh_limit: int) -> None:
        self.enabled, self.mesh_limit = enabled, mesh_limit
        self._server: set[str] = set()
        self._asking: set[PeerId] = set()

    def mode(self, room: str) -> MediaMode:
        return MediaMode.SERVER if room in self._server else MediaMode.MESH

    def asked(self, place: Place) -> bool:
        return place.peer_id in self._asking

    def joined(self, place: Place, asked: bool, places: Collection[Place]) -> tuple[MediaMode, list[Effect]]:
        """``place`` joined or resumed (``places``: its room's, itself included): its ``joined.media``
        and what follows its ``joined``."""
        effects: list[Effect] = []
        if asked:
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

    def voice_changed(self, place: Place, places: Collection[Place]) -> list[Effect]:
        """``place`` turned its voice on (the room may grow past its mesh) or off (it stops publishing)."""
        if place.voice:
            return self._switch_if_grown(place.room, places)
        return [MediaDropped(place.room, place.peer_id)] if self._takes_part(place) else []

    def unseated(self, place: Place, room_empty: bool) -> list[Effect]:
        """``place`` left, was removed, or its grace is over."""
        effects: list[Effect] = [MediaDropped(place.room, place.peer_id)] if self._takes_part(place) else []
        self._asking.discard(place.peer_id)
        if room_empty and place.room in self._server:
            self._server.discard(place.room)
            log.info("media closed room=%s", place.room)
            effects.append(MediaClosed(place.room))
        return effects

    def request(self, place: Place, conn: ConnId, message: MediaRequest, ref: str) -> list[Effect]:
        """A ``media-publish`` or ``media-answer``: for the media shell, or ``bad-message`` saying why not."""
        if place.room not in self._server:
            reason = "this room's call does not go through the media server"
        elif place.peer_id not in self._asking:
            reason = "join with media_server true to use the media server"
        elif not place.voice:
            reason = "turn voice on first: only voices take part in the call"
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
        """Switch ``room`` to the media server once its voices exceed the mesh limit; tell its members."""
        if not self.enabled or room in self._server:
            return []
        voices = sum(1 for p in places if p.voice)
        if voices <= self.mesh_limit:
            return []
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


def _unsupported() -> ErrorReported:
    return ErrorReported(code=ErrorCode.MEDIA_UNSUPPORTED.value, message=UNSUPPORTED)
