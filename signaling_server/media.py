"""The media shell: executes the rooms core's media effects on Janus (VideoRoom, audio only).

docs/protocol.md, "Media server". One Janus session (kept alive) for the
whole server. Per room a VideoRoom with a random numeric id, ``secret`` and
``pin`` that never leave this process; per member that publishes, a
publisher handle (joined with its peer id as ``display``) and one
multistream subscriber handle holding every other publisher of *its* room.
The SDP goes between the client and Janus through here: the client's offer
to ``publish``, Janus's answer back as ``media-published``; Janus's offers
for the subscription (``attached``, ``updated``) as ``media-offer`` with each
stream's ``mid`` and peer id, the client's ``media-answer`` to ``start``.

A member's subscription is renegotiated one offer at a time: growing it
(``subscribe`` when a publisher arrives) and Janus's own re-offers (an
unsolicited ``updated`` when a publisher leaves) wait for the answer to the
offer before, up to ``OFFER_TIMEOUT_S``. A request Janus refuses:
``media-failed`` in plain words. Losing Janus (its WebSocket closed, which a
failed keepalive also does) and having a session again are reported to the
rooms core (``Clients.media_lost``, ``media_reached``), which decides what
each room's members are told: fall back to the mesh, wait, or publish anew
(their old handles died with Janus's session).
"""

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
from websockets.exceptions import ConnectionClosed, WebSocketException

from protocol import (
    AnswerMedia,
    ErrorCode,
    ErrorReported,
    MediaOffered,
    MediaPublished,
    MediaStream,
    PublishMedia,
)

from .effects import MediaClosed, MediaDropped, MediaEffect, MediaRequested, MediaResumed
from .janus import Handle, JanusClient, JanusError, Json, Session, plugin_data
from .model import PeerId

log = logging.getLogger("voxroom.server.media")

VIDEOROOM = "janus.plugin.videoroom"
MAX_PUBLISHERS = 200
OFFER_TIMEOUT_S = 10.0
"""How long a client has to answer a ``media-offer`` before the renegotiation is given up."""
RECONNECT_S = 2.0
CLOSE_TIMEOUT_S = 5.0
"""The most a server's shutdown waits for Janus to destroy its rooms and session."""
_FAILURES = (ConnectionClosed, WebSocketException, TimeoutError, OSError)
"""What losing Janus looks like to a request."""


class Clients(Protocol):
    """How the shell reaches clients and the rooms core (the transport's ``Relay``)."""

    def send_to_peer(self, room: str, peer: PeerId, message: msgspec.Struct) -> None:
        """To ``peer``'s connection in ``room``, if it has one now (not in grace)."""

    def media_lost(self) -> None:
        """No session with Janus (lost, or an attempt failed): the rooms core decides who hears what."""

    def media_reached(self) -> None:
        """There is a session with Janus (again)."""


@dataclass(eq=False)
class _Member:
    peer: PeerId
    publisher: Handle | None = None
    feed: int | None = None
    """Its publisher id in the Janus room, once it joined as one."""
    live: bool = False
    """Janus has its audio (``webrtcup``): others may subscribe to it."""
    subscriber: Handle | None = None
    feeds: set[int] = field(default_factory=set)
    """The publishers its subscription holds (or is being offered)."""
    mids: dict[str, PeerId] = field(default_factory=dict)
    """Its subscription's streams: mid → whose voice."""
    negotiating: asyncio.Lock = field(default_factory=asyncio.Lock)
    answer: "asyncio.Future[str] | None" = None
    """The answer awaited for the ``media-offer`` out now."""
    unanswered: MediaOffered | None = None
    """Its last ``media-offer`` until the client answers it: sent again when it resumes its place."""
    watchers: "list[asyncio.Task[None]]" = field(default_factory=list)
    """What reads its handles' events: ended with them."""

    def stop_waiting(self) -> None:
        """It is gone: the offer out now will never be answered."""
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(_GoneError())


class _GoneError(Exception):
    """A member dropped (or Janus lost) while its offer waited for an answer."""


@dataclass(eq=False)
class _Room:
    id: int
    secret: str = field(repr=False)
    pin: str = field(repr=False)
    members: dict[PeerId, _Member] = field(default_factory=dict)


class UnreachableError(Exception):
    """There is no session with Janus now."""


class MediaServer:
    """The server's side of Janus: ``start``, then call it with each media effect; ``close`` at the end."""

    def __init__(self, url: str, api_secret: str, clients: Clients) -> None:
        self.url, self._api_secret, self._clients = url, api_secret, clients
        self._session: Session | None = None
        self._control: Handle | None = None
        """A handle for creating and destroying rooms."""
        self._rooms: dict[str, _Room] = {}
        self._creating: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connector: asyncio.Task[None] | None = None

    @property
    def reachable(self) -> bool:
        return self._session is not None

    def start(self) -> None:
        self._connector = asyncio.create_task(self._connect_forever())

    async def close(self) -> None:
        """Destroy the rooms and the session, within ``CLOSE_TIMEOUT_S`` whatever Janus does (then the
        WebSocket's own close time-out, ``janus.CLOSE_TIMEOUT_S``).

        A Janus that stopped answering would otherwise hold a server's shutdown for a request
        time-out per handle (one CI run: 224 s for ten members)."""
        tasks = [*self._tasks, *([self._connector] if self._connector else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        session, self._session = self._session, None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await asyncio.gather(*(self._close_room(name) for name in list(self._rooms)))
                if session is not None:
                    with contextlib.suppress(*_FAILURES, JanusError):
                        await session.destroy()  # Janus hangs up every handle of it
        if session is not None:
            await session.client.close()

    def __call__(self, effect: MediaEffect) -> None:
        match effect:
            case MediaRequested(message=PublishMedia(sdp=sdp)):
                self._spawn(self._publish(effect.room, effect.peer, sdp))
            case MediaRequested(message=AnswerMedia(sdp=sdp)):
                self._answer(effect.room, effect.peer, sdp)
            case MediaDropped():
                self._drop(effect.room, effect.peer)
            case MediaResumed():
                self._resumed(effect.room, effect.peer)
            case MediaClosed():
                self._spawn(self._close_room(effect.room))

    # --- the session ---------------------------------------------------------------------

    async def _connect_forever(self) -> None:
        """Hold a session with Janus; when it is lost, tell the rooms core and try again.

        A failed attempt is logged and reported once until one succeeds, not every ``RECONNECT_S``.
        """
        said = False
        while True:
            client = None
            try:
                client = await JanusClient.connect(self.url, api_secret=self._api_secret)
                session = await client.create_session()
                self._control = await session.attach(VIDEOROOM)
            except (*_FAILURES, JanusError, ValueError) as exc:
                what = "refused a session" if client is not None else "unreachable"
                level = logging.DEBUG if said else logging.WARNING if client is None else logging.ERROR
                log.log(level, "media server %s url=%s: %s", what, self.url, exc)
                if not said:
                    self._clients.media_lost()
                said = True
                if client is not None:
                    await client.close()
                await asyncio.sleep(RECONNECT_S)
                continue
            self._session, said = session, False
            log.info("media server reachable url=%s session=%s", self.url, session.id)
            self._clients.media_reached()
            await client.wait_closed()
            self._lost()
            with contextlib.suppress(*_FAILURES, JanusError):
                await session.destroy()  # only its keepalives: Janus and the session are gone
            await asyncio.sleep(RECONNECT_S)

    def _lost(self) -> None:
        """Janus is gone, and every handle with it: the rooms core hears it, the rooms' state is forgotten."""
        self._session = self._control = None
        rooms, self._rooms = self._rooms, {}
        log.warning("media server lost url=%s rooms=%d", self.url, len(rooms))
        for room in rooms.values():
            for member in room.members.values():
                member.stop_waiting()
                for watcher in member.watchers:
                    watcher.cancel()
        self._clients.media_lost()

    def _live(self) -> Session:
        if self._session is None:
            raise UnreachableError
        return self._session

    def _spawn(self, work: Coroutine[Any, Any, None]) -> "asyncio.Task[None]":
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- rooms -------------------------------------------------------------------------------

    async def _room(self, name: str) -> _Room:
        """``name``'s Janus room, created on first use with a random id, secret and pin."""
        async with self._creating.setdefault(name, asyncio.Lock()):
            room = self._rooms.get(name)
            if room is not None:
                return room
            if self._control is None:
                raise UnreachableError
            room = _Room(secrets.randbelow(2**52) + 1, secrets.token_urlsafe(24), secrets.token_urlsafe(24))
            await self._control.message(
                {
                    "request": "create",
                    "room": room.id,
                    "secret": room.secret,
                    "pin": room.pin,
                    "is_private": True,
                    "publishers": MAX_PUBLISHERS,
                    "audiocodec": "opus",
                    "notify_joining": False,
                }
            )
            log.info("media room created room=%s janus_room=%s", name, room.id)
            self._rooms[name] = room
            return room

    async def _close_room(self, name: str) -> None:
        self._creating.pop(name, None)
        room = self._rooms.pop(name, None)
        if room is None:
            return
        await asyncio.gather(*(self._hang_up(member) for member in room.members.values()))
        if self._control is not None:
            with contextlib.suppress(*_FAILURES, JanusError):
                await self._control.message({"request": "destroy", "room": room.id, "secret": room.secret})
        log.info("media room destroyed room=%s janus_room=%s", name, room.id)

    # --- members -----------------------------------------------------------------------------

    async def _publish(self, name: str, peer: PeerId, sdp: str) -> None:
        """Publish ``peer``'s offer in ``name``'s Janus room; then every member's subscription follows."""
        member: _Member | None = None
        try:
            session = self._live()
            room = await self._room(name)
            old = room.members.pop(peer, None)
            if old is not None:  # publishing again: a fresh start for both of its connections
                self._forget_feed(room, old)
                await self._hang_up(old)
            member = room.members[peer] = _Member(peer)
            handle = member.publisher = await session.attach(VIDEOROOM)
            member.watchers.append(self._spawn(self._watch_publisher(name, room, member, handle)))
            joined = await handle.message(
                {"request": "join", "ptype": "publisher", "room": room.id, "pin": room.pin, "display": peer}
            )
            reply = await handle.message({"request": "publish", "audio_codec": "opus"}, _jsep("offer", sdp))
            if reply.jsep is None:
                raise JanusError(0, "no answer to the offer")
        except (UnreachableError, *_FAILURES) as exc:  # the rooms core tells the room, now or when reported
            log.info("media publish failed room=%s peer=%s: unreachable %s", name, peer, exc)
            return
        except JanusError as exc:
            if member is not None and room.members.get(peer) is not member:
                log.info("media publish superseded room=%s peer=%s: %s", name, peer, exc)
                await self._hang_up(member)  # a newer publish (or a drop) took its place: nothing to say
                return
            log.info("media publish refused room=%s peer=%s: %s", name, peer, exc)
            words = f"the media server refused your audio ({exc.reason})"
            self._clients.send_to_peer(name, peer, _failed(words, "media-publish"))
            if member is not None:
                del room.members[peer]
                await self._hang_up(member)
            return
        if room.members.get(peer) is not member:  # dropped (voice off, left) meanwhile
            await self._hang_up(member)
            return
        member.feed = joined.data["id"]
        log.info("media published room=%s peer=%s feed=%s", name, peer, member.feed)
        self._clients.send_to_peer(name, peer, MediaPublished(sdp=reply.jsep["sdp"]))
        self._spawn(self._subscribe(name, room, member))  # to those already heard

    async def _watch_publisher(self, name: str, room: _Room, member: _Member, handle: Handle) -> None:
        """Once Janus has a publisher's audio (``webrtcup``), the others' subscriptions grow with it."""
        async for message in handle.events():
            log.debug("media event room=%s peer=%s janus=%s", name, member.peer, message.get("janus"))
            if message.get("janus") == "webrtcup" and not member.live:
                member.live = True
                for other in list(room.members.values()):
                    if other is not member:
                        self._spawn(self._subscribe(name, room, other))

    async def _subscribe(self, name: str, room: _Room, member: _Member) -> None:
        """Bring ``member``'s subscription up to every other publisher of its room (and no other room's)."""
        async with member.negotiating:
            if room.members.get(member.peer) is not member or member.publisher is None:
                return
            wanted = {
                m.feed for m in room.members.values() if m is not member and m.live and m.feed is not None
            }
            new = sorted(wanted - member.feeds)
            if not new:
                return
            member.feeds.update(new)
            streams = [{"feed": feed} for feed in new]
            try:
                if member.subscriber is None:
                    handle = member.subscriber = await self._live().attach(VIDEOROOM)
                    member.watchers.append(self._spawn(self._watch_updates(name, room, member, handle)))
                    body = {"request": "join", "ptype": "subscriber", "room": room.id, "pin": room.pin}
                    reply = await handle.message({**body, "streams": streams})
                else:
                    reply = await member.subscriber.message({"request": "subscribe", "streams": streams})
            except (UnreachableError, *_FAILURES):
                return  # the connection loop tells everyone
            except JanusError as exc:
                member.feeds.difference_update(new)
                log.info("media subscribe refused room=%s peer=%s: %s", name, member.peer, exc)
                if (
                    not member.feeds and member.subscriber is not None
                ):  # its join failed: start afresh next time
                    with contextlib.suppress(*_FAILURES, JanusError):
                        await member.subscriber.detach()
                    member.subscriber = None
                return
            log.info("media subscribed room=%s peer=%s feeds=%s", name, member.peer, new)
            if reply.jsep is not None:
                await self._offer(name, member, reply.data, reply.jsep)

    async def _watch_updates(self, name: str, room: _Room, member: _Member, handle: Handle) -> None:
        """Janus re-offers by itself when a publisher this member hears leaves: pass that on too."""
        async for message in handle.events():
            jsep = message.get("jsep")
            if jsep is not None:
                async with member.negotiating:
                    if member.subscriber is handle:
                        await self._offer(name, member, plugin_data(message), jsep)

    async def _offer(self, name: str, member: _Member, data: Json, jsep: Json) -> None:
        """Janus's offer to the client (its streams named by peer), its answer back to Janus (``start``)."""
        assert member.subscriber is not None
        for stream in data.get("streams", []):
            mid = str(stream.get("mid", ""))
            if (
                stream.get("active", True)
                and stream.get("type", "audio") == "audio"
                and "feed_display" in stream
            ):
                member.mids[mid] = PeerId(str(stream["feed_display"]))
            else:
                member.mids.pop(mid, None)
        streams = [MediaStream(mid=mid, peer=peer) for mid, peer in member.mids.items()]
        log.info("media offer room=%s peer=%s streams=%d", name, member.peer, len(streams))
        await self._exchange(name, member, MediaOffered(sdp=jsep["sdp"], streams=streams))

    async def _exchange(self, name: str, member: _Member, offer: MediaOffered) -> None:
        """Send ``offer``, its answer to Janus (``start``); given up after ``OFFER_TIMEOUT_S``."""
        assert member.subscriber is not None
        member.unanswered = offer
        member.answer = asyncio.get_running_loop().create_future()
        self._clients.send_to_peer(name, member.peer, offer)
        try:
            answer = await asyncio.wait_for(member.answer, OFFER_TIMEOUT_S)
            member.unanswered = None  # the client has it
            await member.subscriber.message({"request": "start"}, _jsep("answer", answer))
            log.info("media answered room=%s peer=%s", name, member.peer)
        except TimeoutError:
            log.info("media offer unanswered room=%s peer=%s", name, member.peer)
        except _GoneError:
            pass
        except JanusError as exc:
            log.info("media answer refused room=%s peer=%s: %s", name, member.peer, exc)
            words = f"the media server refused your answer ({exc.reason})"
            self._clients.send_to_peer(name, member.peer, _failed(words, "media-answer"))
        except _FAILURES:
            pass  # the connection loop tells everyone
        finally:
            member.answer = None

    def _answer(self, name: str, peer: PeerId, sdp: str) -> None:
        room = self._rooms.get(name)
        member = room.members.get(peer) if room is not None else None
        if member is None or member.answer is None or member.answer.done():
            message = ErrorReported(
                code=ErrorCode.BAD_MESSAGE.value,
                message="no media-offer waits for an answer",
                ref="media-answer",
            )
            self._clients.send_to_peer(name, peer, message)
            return
        member.answer.set_result(sdp)

    def _resumed(self, name: str, peer: PeerId) -> None:
        """``peer`` is back from its grace: a ``media-offer`` it may have missed is sent again.

        One still awaited is simply repeated (its answer is awaited as before); one given up is offered
        anew, in turn with the member's other renegotiations.
        """
        room = self._rooms.get(name)
        member = room.members.get(peer) if room is not None else None
        if member is None or member.unanswered is None:
            return
        log.info("media offer again room=%s peer=%s", name, peer)
        if member.answer is not None and not member.answer.done():
            self._clients.send_to_peer(name, peer, member.unanswered)
        else:
            self._spawn(self._offer_again(name, member))

    async def _offer_again(self, name: str, member: _Member) -> None:
        async with member.negotiating:
            offer = member.unanswered
            room = self._rooms.get(name)
            if offer is not None and room is not None and room.members.get(member.peer) is member:
                await self._exchange(name, member, offer)

    def _drop(self, name: str, peer: PeerId) -> None:
        """``peer`` stops taking part: its handles go, and Janus re-offers to those who heard it."""
        room = self._rooms.get(name)
        member = room.members.pop(peer, None) if room is not None else None
        if room is None or member is None:
            return
        log.info("media dropped room=%s peer=%s", name, peer)
        self._forget_feed(room, member)
        member.stop_waiting()
        self._spawn(self._hang_up(member))

    @staticmethod
    def _forget_feed(room: _Room, gone: _Member) -> None:
        if gone.feed is not None:
            for member in room.members.values():
                member.feeds.discard(gone.feed)

    async def _hang_up(self, member: _Member) -> None:
        for watcher in member.watchers:
            watcher.cancel()
        for handle in (member.subscriber, member.publisher):
            if handle is not None:
                with contextlib.suppress(*_FAILURES, JanusError):
                    await handle.detach()
        member.subscriber = member.publisher = None


def _jsep(kind: str, sdp: str) -> Json:
    return {"type": kind, "sdp": sdp}


def _failed(words: str, ref: str | None = None) -> ErrorReported:
    return ErrorReported(code=ErrorCode.MEDIA_FAILED.value, message=words, ref=ref)
