"""The call: one ``RTCPeerConnection`` per peer, set up by rule 3 of protocol v1.

Rule 3: a peer whose ``voice`` becomes true offers to every other peer whose
``voice`` is true; those answer and never offer first; when two offers cross,
the smaller peer id's offer wins. A connection that fails (or an offer never
answered) is rebuilt by the peer with the smaller id, so exactly one side
retries. Each peer's work runs in its own task, one message at a time, so a
broken or hostile peer (bad SDP, offer floods) fails alone.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from protocol import IceServer

from .ice import allow_loopback_only_hosts
from .rtp import OnPacket, PacketTrack, tap_receiver

log = logging.getLogger("voxroom.mesh")
allow_loopback_only_hosts()

ANSWER_TIMEOUT_S = 10.0
RETRY_DELAY_S = 0.5
OFFER_FALLBACK_S = 1.0
"""How long the smaller id waits for an offer rule 3 promised before making one itself."""

SendSignal = Callable[[str, dict[str, Any]], None]
MediaFactory = Callable[[str], OnPacket]
"""Given a peer id, the callable that takes that peer's RTP payloads."""


@dataclass
class _Link:
    """Our half of the call with one peer."""

    peer_id: str
    pc: RTCPeerConnection
    track: PacketTrack
    offerer: bool


@dataclass
class _PeerWork:
    """The messages waiting for one peer's task; a newer offer replaces an older one."""

    queue: list[dict[str, Any]] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: "asyncio.Task[None] | None" = None


class CallMesh:
    def __init__(
        self,
        send_signal: SendSignal,
        media_for: MediaFactory,
        on_state: Callable[[str, str], None] = lambda peer_id, state: None,
    ) -> None:
        self._send_signal = send_signal
        self._media_for = media_for
        self._on_state = on_state
        self.self_id = ""
        self.voice = False
        self._ice: list[RTCIceServer] = []
        self._peer_voice: dict[str, bool] = {}
        self._links: dict[str, _Link] = {}
        self._work: dict[str, _PeerWork] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._closing: set[asyncio.Future[None]] = set()
        self.answer_timeout_s = ANSWER_TIMEOUT_S

    # --- what the room tells us ---------------------------------------------

    def joined(
        self, self_id: str, peers: dict[str, bool], voice: bool, resumed: bool, ice: tuple[IceServer, ...]
    ) -> None:
        """In the room (again). A fresh join starts over; a resumed one keeps its calls."""
        self._ice = [RTCIceServer(urls=s.urls, username=s.username, credential=s.credential) for s in ice]
        if not resumed or self_id != self.self_id:
            for peer_id in list(self._links):
                self._drop(peer_id)
        self.self_id, self.voice = self_id, voice
        self._peer_voice = dict(peers)
        for peer_id in list(self._links):
            if peer_id not in peers:
                self._drop(peer_id)
        if voice:
            for peer_id, their_voice in peers.items():
                if their_voice and peer_id not in self._links:
                    self._post(peer_id, {"kind": "_offer"})

    def peer_joined(self, peer_id: str, voice: bool) -> None:
        self._peer_voice[peer_id] = voice  # a newcomer offers to us, not we to it
        if voice:
            self._expect_offer(peer_id)

    def peer_left(self, peer_id: str) -> None:
        self._peer_voice.pop(peer_id, None)
        self._drop(peer_id)
        work = self._work.pop(peer_id, None)
        if work and work.task:
            work.task.cancel()

    def peer_voice(self, peer_id: str, voice: bool) -> None:
        self._peer_voice[peer_id] = voice
        if voice:
            self._expect_offer(peer_id)
        else:
            self._drop(peer_id)  # it sends `bye` too; either way the call with it is over

    def set_voice(self, voice: bool) -> None:
        """Join or leave the call while staying in the room."""
        if voice == self.voice:
            return
        self.voice = voice
        if voice:
            for peer_id, their_voice in self._peer_voice.items():
                if their_voice:
                    self._post(peer_id, {"kind": "_offer"})
        else:
            for peer_id in list(self._links):
                self._send_signal(peer_id, {"kind": "bye"})
                self._drop(peer_id)

    def signal(self, from_id: str, payload: dict[str, Any]) -> None:
        """A ``signal`` from a peer: queued for that peer's task."""
        if from_id not in self._peer_voice:
            log.info("signal from unknown peer %s ignored", from_id)
            return
        self._post(from_id, payload)

    @property
    def connected_peers(self) -> list[str]:
        return [p for p, link in self._links.items() if link.pc.connectionState == "connected"]

    def tracks(self) -> list[PacketTrack]:
        return [link.track for link in self._links.values()]

    async def close(self) -> None:
        for work in self._work.values():
            if work.task:
                work.task.cancel()
        for timer in self._timers.values():
            timer.cancel()
        links = list(self._links.values())
        self._links.clear()
        await asyncio.gather(*(_close_pc(link) for link in links), *self._closing)

    # --- one task per peer ----------------------------------------------------

    def _post(self, peer_id: str, payload: dict[str, Any]) -> None:
        work = self._work.setdefault(peer_id, _PeerWork())
        if payload.get("kind") in ("offer", "_offer"):
            work.queue = [m for m in work.queue if m.get("kind") not in ("offer", "_offer")]  # latest wins
        work.queue.append(payload)
        work.wake.set()
        if work.task is None or work.task.done():
            work.task = asyncio.ensure_future(self._run(peer_id, work))

    async def _run(self, peer_id: str, work: _PeerWork) -> None:
        while True:
            await work.wake.wait()
            work.wake.clear()
            while work.queue:
                payload = work.queue.pop(0)
                try:
                    await self._handle(peer_id, payload)
                except Exception as exc:  # hostile or broken input fails this peer only
                    log.warning("call with %s failed: %s: %s", peer_id, type(exc).__name__, exc)
                    self._fail(peer_id)

    async def _handle(self, peer_id: str, payload: dict[str, Any]) -> None:
        kind = payload.get("kind")
        if kind == "_offer":
            await self._make_offer(peer_id)
        elif kind == "offer":
            await self._answer(peer_id, _sdp(payload))
        elif kind == "answer":
            link = self._links.get(peer_id)
            if link and link.offerer and link.pc.signalingState == "have-local-offer":
                await link.pc.setRemoteDescription(RTCSessionDescription(_sdp(payload), "answer"))
                self._cancel_timer(peer_id)
        elif kind == "candidate":
            await self._add_candidate(peer_id, payload)
        elif kind == "bye":
            self._drop(peer_id)
        else:
            log.info("unknown signal kind %r from %s ignored", kind, peer_id)

    async def _make_offer(self, peer_id: str) -> None:
        if not (self.voice and self._peer_voice.get(peer_id)) or peer_id in self._links:
            return
        link = self._new_link(peer_id, offerer=True)
        await link.pc.setLocalDescription(await link.pc.createOffer())
        self._send_signal(peer_id, {"kind": "offer", "sdp": link.pc.localDescription.sdp})
        self._arm_timer(peer_id, self.answer_timeout_s, lambda: self._fail(peer_id))

    async def _answer(self, peer_id: str, sdp: str) -> None:
        self._cancel_timer(peer_id)  # the offer we were waiting for (see _expect_offer)
        if not self.voice:
            self._send_signal(peer_id, {"kind": "bye"})  # not in the call: say so rather than hang
            return
        old = self._links.get(peer_id)
        if old is not None:
            if old.offerer and old.pc.signalingState == "have-local-offer" and self.self_id < peer_id:
                return  # crossed offers: ours wins, theirs is dropped by them
            self._drop(peer_id)
        link = self._new_link(peer_id, offerer=False)
        await link.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await link.pc.setLocalDescription(await link.pc.createAnswer())
        self._send_signal(peer_id, {"kind": "answer", "sdp": link.pc.localDescription.sdp})

    async def _add_candidate(self, peer_id: str, payload: dict[str, Any]) -> None:
        link = self._links.get(peer_id)
        text = payload.get("candidate")
        if link is None or not isinstance(text, str):
            return
        if not text:
            await link.pc.addIceCandidate(None)  # end of candidates
            return
        candidate = candidate_from_sdp(text.removeprefix("candidate:"))
        mid, index = payload.get("sdpMid"), payload.get("sdpMLineIndex")
        candidate.sdpMid = mid if isinstance(mid, str) else None
        candidate.sdpMLineIndex = index if isinstance(index, int) else 0
        await link.pc.addIceCandidate(candidate)

    # --- links -------------------------------------------------------------------

    def _new_link(self, peer_id: str, offerer: bool) -> _Link:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice))
        track = PacketTrack()
        pc.addTrack(track)
        link = _Link(peer_id, pc, track, offerer)
        self._links[peer_id] = link
        on_packet = self._media_for(peer_id)

        @pc.on("track")
        def on_track(_: object) -> None:
            for receiver in pc.getReceivers():
                tap_receiver(receiver, on_packet)

        @pc.on("connectionstatechange")
        def on_change() -> None:
            if self._links.get(peer_id) is not link:
                return
            state = pc.connectionState
            log.info("call with %s: %s", peer_id, state)
            self._on_state(peer_id, state)
            if state == "failed":
                self._fail(peer_id)

        return link

    def _drop(self, peer_id: str) -> None:
        self._cancel_timer(peer_id)
        link = self._links.pop(peer_id, None)
        if link is not None:
            self._on_state(peer_id, "closed")
            closing = asyncio.ensure_future(_close_pc(link))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    def _expect_offer(self, peer_id: str) -> None:
        """Rule 3 says a peer whose voice turns on offers to us; it cannot if it had not yet
        seen our voice (both turned on at once, or it joined as we turned on). The smaller id
        offers after a pause if nothing came: it would win a crossed offer anyway."""
        if self.voice and peer_id not in self._links and self.self_id < peer_id:
            self._arm_timer(peer_id, OFFER_FALLBACK_S, lambda: self._post(peer_id, {"kind": "_offer"}))

    def _fail(self, peer_id: str) -> None:
        """Drop the link; the smaller id rebuilds it after a short pause."""
        self._drop(peer_id)
        if self.self_id < peer_id:
            self._arm_timer(peer_id, RETRY_DELAY_S, lambda: self._post(peer_id, {"kind": "_offer"}))

    def _arm_timer(self, peer_id: str, delay_s: float, action: Callable[[], None]) -> None:
        self._cancel_timer(peer_id)
        self._timers[peer_id] = asyncio.get_running_loop().call_later(delay_s, action)

    def _cancel_timer(self, peer_id: str) -> None:
        timer = self._timers.pop(peer_id, None)
        if timer is not None:
            timer.cancel()


def _sdp(payload: dict[str, Any]) -> str:
    sdp = payload.get("sdp")
    if not isinstance(sdp, str) or not sdp:
        raise ValueError("signal without an SDP")
    return sdp


async def _close_pc(link: _Link) -> None:
    link.track.stop()
    with contextlib.suppress(Exception):
        await link.pc.close()
