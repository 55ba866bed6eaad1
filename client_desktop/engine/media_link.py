"""Our call through the room's media server: one sending and one receiving connection (aiortc).

A thin shell: ``media_rules.py`` decides when to publish and when to close;
the signaling server relays every SDP to and from the media server (Janus's
VideoRoom, docs/protocol.md "Media server"). The sending connection has one
``sendonly`` audio transceiver whose ``PacketTrack`` the engine's one Opus
encode feeds, as it feeds each mesh link. The receiving connection takes
the server's offers (one stream, one ``mid``, per voice); each stream is
tapped (``rtp.tap_receiver``) into that peer's own playout buffer, so
per-person volume, speaking lights and server mutes work as in the mesh.
A stream's ``mid`` is looked up per packet, so a renegotiation that gives a
``mid`` to another voice moves its packets with it.

An offer whose ICE credentials differ from the receiving connection's is a
new subscription (the media server came back, or we joined again): it gets
a fresh connection, since aiortc cannot restart ICE on an old one.

No STUN or TURN: the media server has an address the clients reach (its
operator's job), and a full-ICE Janus learns our address behind a NAT from
our connectivity checks (a peer-reflexive candidate). Work runs one step at
a time in one task, so an offer never overtakes the publish before it.
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from functools import partial

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from protocol import AnswerMedia, MediaRequest, MediaStream, PublishMedia

from .call_stats import TransportStats, transport_stats
from .mesh import MediaFactory
from .rtp import OnPacket, PacketTrack, tap_receiver

log = logging.getLogger("voxroom.media")

SendMedia = Callable[[MediaRequest], None]
PeerSink = Callable[[str], None]

_Step = Callable[[], Awaitable[None]]
_UFRAG = re.compile(r"^a=ice-ufrag:(\S+)", re.MULTILINE)


class MediaLink:
    """Both media connections of one engine; every method runs on the event loop's thread.

    Args:
        send: sends ``media-publish`` / ``media-answer`` through the signaling server.
        media_for: a peer's packet sink, asked once when its voice first arrives.
        on_heard: a peer's voice arrived through the media server (once per peer, until it goes).
        on_gone: a peer we heard is no longer offered, or a new subscription began without it yet.
        on_failed: a connection failed, or was not connected ``connect_timeout_s`` after it was
            made (ICE that cannot connect stays "checking" far longer): the media server's port
            cannot be reached from here (said once).

    ``close`` reports nothing: the owner forgets what it heard itself.
    """

    def __init__(
        self,
        send: SendMedia,
        media_for: MediaFactory,
        on_heard: PeerSink,
        on_gone: PeerSink,
        on_failed: Callable[[], None],
        connect_timeout_s: float,
    ) -> None:
        self._send = send
        self._media_for = media_for
        self._on_heard = on_heard
        self._on_gone = on_gone
        self._on_failed = on_failed
        self._connect_timeout_s = connect_timeout_s
        self.track: PacketTrack | None = None
        """What the uplink feeds while a sending connection is open."""
        self._sender: RTCPeerConnection | None = None
        self._receiver: RTCPeerConnection | None = None
        self._peer_of_mid: dict[str, str] = {}
        self._inputs: dict[str, OnPacket] = {}
        """Peers heard, in the order first heard, and their packet sinks."""
        self._tapped: set[int] = set()
        self._closed = False
        self._steps: asyncio.Queue[_Step | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._work(), name="media link")
        self._closing: set[asyncio.Task[None]] = set()

    # --- requests (executed in order) ---------------------------------------------------

    def publish(self) -> None:
        """Open a new sending connection (closing the old) and send its offer as ``media-publish``."""
        self._steps.put_nowait(self._publish)

    def published(self, sdp: str) -> None:
        """The media server's answer to our last ``media-publish``."""
        self._steps.put_nowait(partial(self._published, sdp))

    def offered(self, sdp: str, streams: tuple[MediaStream, ...]) -> None:
        """An offer for the receiving connection: apply it, map its streams, answer ``media-answer``."""
        self._steps.put_nowait(partial(self._offered, sdp, streams))

    # --- queries ---------------------------------------------------------------------------

    @property
    def heard(self) -> list[str]:
        """Peers whose voice has come through the media server, in the order first heard."""
        return list(self._inputs)

    def hears(self, peer_id: str) -> bool:
        return peer_id in self._inputs

    async def stats(self) -> TransportStats | None:
        """The receiving connection's path, RTT, loss and jitter (all its streams share one path)."""
        return None if self._receiver is None else await transport_stats(self._receiver)

    def close(self) -> None:
        """Stop: no callback runs after this, and no step after the one under way.

        ``closed`` then closes the connections. The step under way is not cancelled: a
        connection closed while it gathers its candidates leaves its sockets open (aioice).
        """
        self._closed = True
        self._on_heard = self._on_gone = lambda _: None
        self._on_failed = lambda: None
        if self.track is not None:
            self.track.stop()
        self._steps.put_nowait(None)

    async def closed(self) -> None:
        await self._task
        self._close_sender()
        self._close_receiver()
        await asyncio.gather(*self._closing)

    # --- the work ----------------------------------------------------------------------------

    async def _work(self) -> None:
        while (step := await self._steps.get()) is not None and not self._closed:
            try:
                await step()
            except Exception:  # a refused SDP fails this step only; the server offers again on change
                log.warning("media server connection: %s failed", getattr(step, "func", step), exc_info=True)

    async def _publish(self) -> None:
        self._close_sender()
        self.track = PacketTrack()
        pc = self._sender = self._connection("sending")
        pc.addTransceiver(self.track, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        self._send(PublishMedia(sdp=pc.localDescription.sdp))

    async def _published(self, sdp: str) -> None:
        if self._sender is None or self._sender.signalingState != "have-local-offer":
            log.info("media-published for no pending publish: ignored")
            return
        await self._sender.setRemoteDescription(RTCSessionDescription(sdp, "answer"))

    async def _offered(self, sdp: str, streams: tuple[MediaStream, ...]) -> None:
        pc = self._receiver
        if pc is None or _ufrag(pc.remoteDescription.sdp if pc.remoteDescription else "") != _ufrag(sdp):
            self._close_receiver()
            pc = self._receiver = self._connection("receiving")
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        _route_offered_ssrcs(pc)
        self._peer_of_mid = {stream.mid: stream.peer for stream in streams}
        for peer_id in [p for p in self._inputs if p not in self._peer_of_mid.values()]:
            del self._inputs[peer_id]
            self._on_gone(peer_id)
        for transceiver in pc.getTransceivers():
            if id(transceiver) not in self._tapped:
                self._tapped.add(id(transceiver))
                tap_receiver(transceiver.receiver, partial(self._packet, transceiver.mid or ""))
        await pc.setLocalDescription(await pc.createAnswer())
        self._send(AnswerMedia(sdp=pc.localDescription.sdp))

    def _packet(self, mid: str, sequence: int, timestamp: int, payload: bytes) -> None:
        if (peer_id := self._peer_of_mid.get(mid)) is None:
            return  # a stream the last offer did not name (inactive, or not yet mapped)
        if (sink := self._inputs.get(peer_id)) is None:
            sink = self._inputs[peer_id] = self._media_for(peer_id)
            self._on_heard(peer_id)
        sink(sequence, timestamp, payload)

    def _connection(self, role: str) -> RTCPeerConnection:
        """A connection that fails before it ever connected could not reach the media port; one
        that connected and then failed lost the media server, which the server says itself."""
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

        def unreachable() -> None:
            if pc.connectionState != "connected" and pc in (self._sender, self._receiver):
                log.warning("media server, %s connection: not connected; its port is unreachable", role)
                failed, self._on_failed = self._on_failed, lambda: None
                failed()

        deadline = asyncio.get_running_loop().call_later(self._connect_timeout_s, unreachable)

        @pc.on("connectionstatechange")
        def on_change() -> None:
            log.info("media server, %s connection: %s", role, pc.connectionState)
            if pc.connectionState != "connecting" and not deadline.cancelled():
                deadline.cancel()
                if pc.connectionState == "failed":
                    unreachable()

        return pc

    def _close_sender(self) -> None:
        if self.track is not None:
            self.track.stop()
            self.track = None
        self._close_pc(self._sender)
        self._sender = None

    def _close_receiver(self) -> None:
        self._close_pc(self._receiver)
        self._receiver = None
        self._tapped.clear()
        self._peer_of_mid = {}
        for peer_id in list(self._inputs):
            del self._inputs[peer_id]
            self._on_gone(peer_id)

    def _close_pc(self, pc: RTCPeerConnection | None) -> None:
        if pc is not None:
            closing = asyncio.create_task(_close_pc(pc))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)


def _route_offered_ssrcs(pc: RTCPeerConnection) -> None:
    """Route each stream by the SSRC the latest offer names for it, not only the first one's.

    Janus gives a departed voice's stream (its mid) to the next newcomer,
    whose packets carry a new SSRC; aiortc 1.16 tells its RTP router a
    receiver's SSRC once (``RTCRtpReceiver.receive`` runs once), and drops
    packets of an unknown SSRC when several streams share the payload type.
    So each started receiver is registered again with the offer's parameters,
    through two private names (aiortc is pinned; the media calls test that
    reuses a stream fails if they change).
    """
    remote_rtp = pc._RTCPeerConnection__remoteRtp  # type: ignore[attr-defined]
    for transceiver in pc.getTransceivers():
        receiver, transport = transceiver.receiver, transceiver.receiver.transport
        if transport is None or not receiver._RTCRtpReceiver__started:  # type: ignore[attr-defined]
            continue  # registered when it starts, with the offer's SSRC
        table = transport._rtp_router.ssrc_table
        for ssrc in [ssrc for ssrc, owner in table.items() if owner is receiver]:
            del table[ssrc]
        transport._register_rtp_receiver(receiver, remote_rtp(transceiver))


def _ufrag(sdp: str) -> str | None:
    found = _UFRAG.search(sdp)
    return None if found is None else found.group(1)


async def _close_pc(pc: RTCPeerConnection) -> None:
    try:
        await pc.close()
    except Exception:  # closing a half-built connection may raise; it is gone either way
        log.warning("closing a media server connection failed", exc_info=True)
