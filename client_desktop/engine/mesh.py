"""The call's shell: executes ``CallRules``' actions with aiortc, one ``RTCPeerConnection`` a peer.

The decisions (who offers, crossed offers, retries, time-outs) live in
``call_rules.py``; this module only does what it is told and reports back
what the peer connections did. Each link runs its work in its own task, one
step at a time, so a broken or hostile peer (bad SDP, offer floods) fails
alone; a link replaced before its work began costs nothing (no connection
is made for it), which is what keeps an offer flood cheap. It also watches
each link's incoming audio: a link that received some and then nothing for
``stall_after_s`` is reported to the rules as stalled (its path broke).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import assert_never

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from protocol import IceServer
from protocol.signals import Candidate, signal_payload

from .call_rules import (
    DEFAULT_TIMING,
    AcceptOffer,
    AddCandidate,
    ApplyAnswer,
    CallAction,
    CallRules,
    CallTiming,
    CloseLink,
    LinkId,
    MakeOffer,
    ReportState,
    SignalPeer,
)
from .candidate_policy import CandidateFilter
from .events import CallState, RelayUnusable
from .ice import allow_loopback_only_hosts
from .relays import RelayChoice
from .rtp import OnPacket, PacketTrack, tap_receiver
from .tasks import CoreTimer

log = logging.getLogger("voxroom.mesh")
allow_loopback_only_hosts()

RelaySignal = Callable[[str, dict[str, object]], None]
"""Sends a ``signal`` payload to one peer through the server."""
MediaFactory = Callable[[str], OnPacket]
"""Given a peer id, the callable that takes that peer's RTP payloads."""
StateSink = Callable[[str, CallState], None]
NoticeSink = Callable[[RelayUnusable], None]
"""Told when no relay works (the owner puts it in words)."""

WATCH_EVERY_S = 0.25

_Step = Callable[["_Link"], Awaitable[None]]


@dataclass(eq=False)
class _Link:
    """One peer connection and the queue of work on it."""

    peer_id: str
    id: LinkId
    track: PacketTrack = field(default_factory=PacketTrack)
    pc: RTCPeerConnection | None = None
    steps: "asyncio.Queue[_Step]" = field(default_factory=asyncio.Queue)
    task: "asyncio.Task[None] | None" = None
    remote_candidates: int = 0
    heard_at: float | None = None
    """When the peer's last audio packet came (loop time); None before the first."""
    stalled: bool = False


class CallMesh:
    """Our calls with every peer of one room; every method runs on the event loop's thread."""

    def __init__(
        self,
        relay: RelaySignal,
        media_for: MediaFactory,
        on_state: StateSink,
        on_notice: NoticeSink,
        candidates: CandidateFilter,
        timing: CallTiming = DEFAULT_TIMING,
    ) -> None:
        self._relay = relay
        self._media_for = media_for
        self._on_state = on_state
        self._on_notice = on_notice
        self._candidates = candidates
        self._timing = timing
        self._rules = CallRules(timing)
        self._loop = asyncio.get_running_loop()
        self._relays = RelayChoice((), on_notice)
        self._links: dict[LinkId, _Link] = {}
        self._timer = CoreTimer(self._loop, self._fire)
        self._watch = self._loop.call_later(WATCH_EVERY_S, self._watch_audio)
        self._closing: set[asyncio.Task[None]] = set()
        self._retired = False

    # --- what the room tells us ---------------------------------------------------

    def joined(
        self, self_id: str, peers: dict[str, bool], voice: bool, resumed: bool, ice: tuple[IceServer, ...]
    ) -> None:
        self._relays.close()
        self._relays = RelayChoice(ice, self._on_notice)  # fresh credentials: try them again
        self._run(self._rules.joined(self_id, peers, voice, resumed, self._loop.time()))

    def peer_arrived(self, peer_id: str, voice: bool) -> None:
        self._run(self._rules.peer_arrived(peer_id, voice, self._loop.time()))

    def peer_departed(self, peer_id: str) -> None:
        self._run(self._rules.peer_departed(peer_id))

    def peer_voice(self, peer_id: str, voice: bool) -> None:
        self._run(self._rules.peer_voice(peer_id, voice, self._loop.time()))

    def set_voice(self, voice: bool) -> None:
        self._run(self._rules.set_voice(voice, self._loop.time()))

    def signal_received(self, from_id: str, payload: dict[str, object]) -> None:
        self._run(self._rules.signal_received(from_id, payload, self._loop.time()))

    # --- queries -------------------------------------------------------------------

    @property
    def connected_peers(self) -> list[str]:
        return self._rules.connected_peers

    @property
    def call_states(self) -> dict[str, CallState]:
        return self._rules.call_states

    def offerer(self, peer_id: str) -> bool | None:
        """Whether we made the offer of the current call with ``peer_id`` (None: no call)."""
        return self._rules.offerer(peer_id)

    def connection(self, peer_id: str) -> RTCPeerConnection | None:
        link_id = self._rules.link_of(peer_id)
        link = None if link_id is None else self._links.get(link_id)
        return None if link is None else link.pc

    def tracks(self) -> list[PacketTrack]:
        return [link.track for link in self._links.values()]

    @property
    def relay(self) -> RelayChoice:
        """The TURN server our calls use, as chosen at the last join."""
        return self._relays

    def retire(self) -> None:
        """The call moves to the media server: the links play on until ``close``, but no link is
        made any more (no offer, no retry, no restart after a stall), whatever the rules say."""
        self._retired = True
        self._timer.cancel()
        self._watch.cancel()

    async def close(self) -> None:
        self._timer.cancel()
        self._watch.cancel()
        self._relays.close()
        for link in list(self._links.values()):
            self._close(link)
        await asyncio.gather(*self._closing)

    # --- executing the rules' actions ---------------------------------------------------

    def _run(self, actions: list[CallAction]) -> None:
        for action in actions:
            match action:
                case MakeOffer(peer_id=peer_id, link=link_id):
                    if not self._retired:
                        self._start(peer_id, link_id, self._offer)
                case AcceptOffer(peer_id=peer_id, link=link_id, sdp=sdp):
                    if not self._retired:
                        self._start(peer_id, link_id, partial(self._answer, sdp=sdp))
                case ApplyAnswer(link=link_id, sdp=sdp):
                    self._queue(link_id, partial(self._apply_answer, sdp=sdp))
                case AddCandidate(link=link_id, candidate=candidate):
                    self._queue(link_id, partial(self._add_candidate, candidate=candidate))
                case CloseLink(link=link_id):
                    if (link := self._links.pop(link_id, None)) is not None:
                        self._close(link)
                case SignalPeer(peer_id=peer_id, signal=signal):
                    self._relay(peer_id, signal_payload(signal))
                case ReportState(peer_id=peer_id, state=state):
                    self._on_state(peer_id, state)
                case _:
                    assert_never(action)
        if not self._retired:
            self._timer.arm(self._rules.get_timer())

    def _fire(self) -> None:
        self._run(self._rules.handle_timer(self._loop.time()))

    def _watch_audio(self) -> None:
        now = self._loop.time()
        for link in list(self._links.values()):
            if (
                link.heard_at is not None
                and not link.stalled
                and now - link.heard_at > self._timing.stall_after_s
            ):
                link.stalled = True
                self._run(self._rules.link_stalled(link.id, now))
        self._watch = self._loop.call_later(WATCH_EVERY_S, self._watch_audio)

    # --- one link's work ------------------------------------------------------------

    def _start(self, peer_id: str, link_id: LinkId, first: _Step) -> None:
        link = _Link(peer_id, link_id)
        self._links[link_id] = link
        link.steps.put_nowait(first)
        link.task = asyncio.create_task(self._work(link), name=f"call {peer_id}")

    def _queue(self, link_id: LinkId, step: _Step) -> None:
        if (link := self._links.get(link_id)) is not None:
            link.steps.put_nowait(step)

    async def _work(self, link: _Link) -> None:
        while True:
            step = await link.steps.get()
            try:
                await step(link)
            except Exception as exc:  # hostile or broken input fails this link only
                self._run(self._rules.link_failed(link.id, f"{type(exc).__name__}: {exc}", self._loop.time()))
                return

    async def _connect(self, link: _Link) -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=await self._relays.ice_servers()))
        pc.addTrack(link.track)
        link.pc = pc
        on_packet = self._media_for(link.peer_id)

        def heard(sequence: int, timestamp: int, payload: bytes) -> None:
            link.heard_at = self._loop.time()
            on_packet(sequence, timestamp, payload)

        @pc.on("track")
        def on_track(_: object) -> None:
            for receiver in pc.getReceivers():
                tap_receiver(receiver, heard)

        @pc.on("connectionstatechange")
        def on_change() -> None:
            self._run(self._rules.link_state(link.id, CallState(pc.connectionState), self._loop.time()))

        return pc

    async def _offer(self, link: _Link) -> None:
        pc = await self._connect(link)
        await pc.setLocalDescription(await pc.createOffer())
        self._run(self._rules.described(link.id, pc.localDescription.sdp))

    async def _answer(self, link: _Link, sdp: str) -> None:
        pc = await self._connect(link)
        await pc.setRemoteDescription(RTCSessionDescription(self._screen(link, sdp), "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        self._run(self._rules.described(link.id, pc.localDescription.sdp))

    async def _apply_answer(self, link: _Link, sdp: str) -> None:
        assert link.pc is not None  # the offer came first, on this link's queue
        await link.pc.setRemoteDescription(RTCSessionDescription(self._screen(link, sdp), "answer"))

    async def _add_candidate(self, link: _Link, candidate: Candidate) -> None:
        assert link.pc is not None
        if not candidate.candidate:
            await link.pc.addIceCandidate(None)  # end of candidates
            return
        if not self._candidates.admits(candidate.candidate, link.remote_candidates):
            log.warning("candidate from %s refused: %.80s", link.peer_id, candidate.candidate)
            return
        link.remote_candidates += 1
        parsed = candidate_from_sdp(candidate.candidate.removeprefix("candidate:"))
        parsed.sdpMid = candidate.sdp_mid
        parsed.sdpMLineIndex = candidate.sdp_mline_index or 0
        await link.pc.addIceCandidate(parsed)

    def _screen(self, link: _Link, sdp: str) -> str:
        """The remote SDP without candidates we must not probe (candidate_policy.py)."""
        screened, dropped = self._candidates.sdp(sdp)
        if dropped:
            log.warning("%d candidates from %s refused", dropped, link.peer_id)
        link.remote_candidates = screened.count("a=candidate:")
        return screened

    def _close(self, link: _Link) -> None:
        if link.task is not None and link.task is not asyncio.current_task():
            link.task.cancel()
        link.track.stop()
        if link.pc is not None:
            closing = asyncio.create_task(_close_pc(link.peer_id, link.pc))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)


async def _close_pc(peer_id: str, pc: RTCPeerConnection) -> None:
    try:
        await pc.close()
    except Exception:  # closing a half-built connection may raise; the link is gone either way
        log.warning("closing the connection with %s failed", peer_id, exc_info=True)
