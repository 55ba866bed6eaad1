"""The engine's facade: one object the UI or the bot drives, one stream of events out.

It wires the signaling client, the call (a mesh of peer connections, or the
room's media server: ``media_rules.py`` decides which) and the audio path,
and knows no Qt. Its parts stay inside: the owner changes the call through
methods and reads it through typed queries, the same whichever way the call
goes. Every method is called on the event loop's thread.
"""

import asyncio
import logging
import ssl
from collections.abc import Coroutine
from typing import Any, Protocol, assert_never
from urllib.parse import urlsplit

from protocol import IceServer, MediaMode, MediaRequest, ModRequest, Peer

from . import events
from .call_rules import DEFAULT_TIMING, CallTiming
from .call_stats import PeerCallStats, TransportStats, transport_stats
from .candidate_policy import CandidateFilter, server_is_loopback
from .cues import Cue, samples
from .devices import DeviceAudio
from .media_link import MediaLink
from .media_rules import CloseMedia, CloseMesh, MediaAction, MediaRules, OpenMesh, Publish, RetireMesh
from .mesh import CallMesh
from .mixer import Mixer
from .pcm import Pcm
from .playout import PlayoutStats
from .rtp import OnPacket, PacketTrack
from .shapes import AudioOptions as AudioOptions
from .shapes import TalkMode
from .signaling import SignalingClient
from .tasks import CoreTimer, cancel_and_wait
from .uplink import Uplink

log = logging.getLogger("voxroom.engine")

LEVELS_EVERY_S = 0.1


class CaptureSink(Protocol):
    def __call__(self, frame: Pcm) -> None: ...


class RenderSource(Protocol):
    def __call__(self) -> Pcm: ...


class AudioIO(Protocol):
    """What drives the audio clock: a sound card, or the bot's 20 ms clock."""

    def start(self, capture: CaptureSink, render: RenderSource) -> None: ...

    async def stop(self) -> None: ...


class Engine:
    def __init__(
        self,
        url: str,
        room: str,
        username: str,
        audio: AudioIO,
        on_event: events.EngineEventSink,
        *,
        password: str | None = None,
        admin_password: str | None = None,
        room_password: str | None = None,
        voice: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        options: AudioOptions = AudioOptions(),
        mixer: Mixer | None = None,
        timing: CallTiming = DEFAULT_TIMING,
    ) -> None:
        self._emit = on_event
        self._audio = audio
        self._mixer = mixer or Mixer()
        self._loop = asyncio.get_running_loop()
        self._candidates = CandidateFilter(allow_loopback=server_is_loopback(urlsplit(url).hostname or ""))
        self._timing = timing
        self._mesh: CallMesh | None = None
        """The call mesh while the room's call is one (made at the first ``joined``)."""
        self._retired: CallMesh | None = None
        """After a switch to the media server: the mesh whose links play on for a moment."""
        self._media: MediaLink | None = None
        self._rules = MediaRules()
        self._rules_timer = CoreTimer(self._loop, self._fire)
        self._closing: set[asyncio.Task[None]] = set()
        self._ice: tuple[IceServer, ...] = ()
        self._uplink = Uplink(self._loop, self._tracks, options.bitrate_bps)
        self._signaling = SignalingClient(
            url,
            room,
            username,
            password=password,
            admin_password=admin_password,
            room_password=room_password,
            voice=voice,
            ssl=ssl_context,
            on_event=self._on_session,
        )
        self._voice = voice
        self._muted = False
        self._server_muted = False
        self._deafened = False
        self._levels_task: asyncio.Task[None] | None = None
        self._configure(options)

    # --- lifecycle ---------------------------------------------------------------

    async def start(self) -> events.RoomJoined:
        """Join the room (raising ``errors.SignalingError``'s kinds), then start audio."""
        joined = await self._signaling.start()
        self._audio.start(self._uplink.process, self._mixer.render)
        self._levels_task = asyncio.ensure_future(self._report_levels())
        return joined

    async def leave(self) -> None:
        await self._shutdown()
        await self._signaling.leave()

    async def close(self) -> None:
        await self._shutdown()
        await self._signaling.close()

    async def _shutdown(self) -> None:
        await cancel_and_wait(self._levels_task)
        await self._audio.stop()
        self._rules_timer.cancel()
        closing = [mesh.close() for mesh in self._meshes()]
        if self._media is not None:
            self._media.close()
            closing.append(self._media.closed())
        await asyncio.gather(*closing, *self._closing)

    # --- controls ----------------------------------------------------------------

    def send_chat(self, text: str) -> str:
        """Queue a message and return its nonce; ``ValueError`` if the protocol refuses the text."""
        return self._signaling.send_chat(text)

    def fetch_history(self, before: int) -> None:
        """Ask for the chats before id ``before``; ``HistoryPaged`` answers (paging addition)."""
        self._signaling.fetch_history(before)

    def moderate(self, request: ModRequest) -> None:
        """Kick, ban, server-mute or lock the room, if we joined as a moderator."""
        self._signaling.moderate(request)

    def set_voice(self, voice: bool) -> None:
        self._voice = voice
        self._signaling.set_state(voice=voice)
        if self._mesh is not None:
            self._mesh.set_voice(voice)
        self._run_media(self._rules.set_voice(voice, self._loop.time()))

    def set_muted(self, muted: bool) -> None:
        self._muted = muted
        self._mute_uplink()
        self._signaling.set_state(muted=muted)

    def set_deafened(self, deafened: bool) -> None:
        """Deafen plays nothing and, as every voice app does, mutes too."""
        self._deafened = deafened
        self._mixer.deafened = deafened
        self._mute_uplink()
        self._signaling.set_state(deafened=deafened)

    def _mute_uplink(self) -> None:
        """Send silence when muted, deafened, or muted by a moderator (the server cannot stop our audio)."""
        self._uplink.muted = self._muted or self._deafened or self._server_muted

    def set_talk_mode(self, mode: TalkMode) -> None:
        self._uplink.mode = mode

    def set_push_to_talk(self, pressed: bool) -> None:
        self._uplink.push_to_talk_pressed = pressed

    def set_peer_gain(self, peer_id: str, gain: float) -> None:
        self._mixer.set_gain(peer_id, gain)

    def play_cue(self, cue: Cue, volume: float = 1.0) -> None:
        """Play a short sound through the call's own output (``volume`` 0 to 1).

        The owner decides when: what sounds, and how loud, is the app's to choose (the bot plays none).
        """
        if volume > 0:
            self._mixer.play(samples(cue, volume))

    async def apply_audio(self, options: AudioOptions) -> None:
        """Use new audio settings in the running call, devices included."""
        self._configure(options)
        if isinstance(self._audio, DeviceAudio):
            self._audio.processor.configure(options.processing)
            wanted = (options.input_device or None, options.output_device or None)
            if wanted != (self._audio.input_device, self._audio.output_device):
                await self._audio.switch(*wanted)

    def _configure(self, options: AudioOptions) -> None:
        self._uplink.mode = options.talk_mode
        self._uplink.vad_threshold_dbfs = options.vad_threshold_dbfs
        self._uplink.set_bitrate(options.bitrate_bps)

    # --- queries -----------------------------------------------------------------

    @property
    def self_id(self) -> str | None:
        """Our peer id (it changes after a reconnect that could not resume)."""
        return self._signaling.self_id

    @property
    def connected(self) -> bool:
        """In the room on a live connection to the server."""
        return self._signaling.connected

    @property
    def peers(self) -> dict[str, Peer]:
        """The other people in the room, by peer id."""
        return self._signaling.peers

    @property
    def media_mode(self) -> MediaMode | None:
        """How the room's call goes: a mesh, or through the media server (None before joining)."""
        return self._rules.mode

    @property
    def connected_peers(self) -> list[str]:
        """Peers whose call with us is connected: a mesh link, or their voice through the media server."""
        heard = [] if self._media is None else self._media.heard
        return [p for m in self._meshes() for p in m.connected_peers if p not in heard] + heard

    @property
    def pending_chats(self) -> tuple[str, ...]:
        """Nonces of our messages the server has not confirmed yet, in the order typed."""
        return self._signaling.pending_chats

    def offerer(self, peer_id: str) -> bool | None:
        """Whether we made the offer of the current mesh call with ``peer_id`` (None: no mesh call)."""
        return None if self._mesh is None else self._mesh.offerer(peer_id)

    def playout_stats(self, peer_id: str) -> PlayoutStats | None:
        """Our playout buffer for ``peer_id``'s voice, or None before any of it arrived."""
        return self._mixer.stats(peer_id) if peer_id in self._mixer.peer_ids else None

    async def call_stats(self) -> list[PeerCallStats]:
        """Per peer in a call: its path (host, reflexive or relayed; UDP or TCP), RTT, loss, jitter, delay.

        A voice heard through the media server shows the receiving connection's path and figures
        (all its streams share them) with that peer's own playout delay.
        """
        rows = []
        media = self._media
        for mesh in self._meshes():
            for peer_id, state in mesh.call_states.items():
                if (pc := mesh.connection(peer_id)) is None or (media is not None and media.hears(peer_id)):
                    continue  # its connection is still being made, or it is heard the other way
                rows.append(self._stats_row(peer_id, state, await transport_stats(pc)))
        if media is not None and (link := await media.stats()) is not None:
            rows += [self._stats_row(peer_id, events.CallState.CONNECTED, link) for peer_id in media.heard]
        return rows

    def _stats_row(self, peer_id: str, state: events.CallState, link: TransportStats) -> PeerCallStats:
        playout = self.playout_stats(peer_id)
        return PeerCallStats(
            peer_id,
            state,
            link.path,
            link.rtt_ms,
            link.loss,
            link.jitter_ms,
            None if playout is None else playout.delay_ms,
        )

    # --- wiring ------------------------------------------------------------------

    def _relay(self, peer_id: str, payload: dict[str, object]) -> None:
        self._signaling.send_signal(peer_id, payload)

    def _call_state(self, peer_id: str, state: events.CallState) -> None:
        """A mesh link's state; ignored for a peer heard through the media server (the mesh is going)."""
        if self._media is not None and self._media.hears(peer_id):
            return
        if state is events.CallState.CLOSED:
            self._mixer.remove(peer_id)
        self._emit(events.CallStateChanged(peer_id, state))

    def _mesh_input(self, peer_id: str) -> OnPacket:
        """A mesh link's packet sink: silent once the peer's voice comes through the media server,
        so the two paths never feed one playout buffer while the mesh plays on after a switch."""
        push = self._mixer.input_for(peer_id)

        def on_packet(sequence: int, timestamp: int, payload: bytes) -> None:
            if self._media is None or not self._media.hears(peer_id):
                push(sequence, timestamp, payload)

        return on_packet

    def _meshes(self) -> list[CallMesh]:
        return [m for m in (self._mesh, self._retired) if m is not None]

    def _tracks(self) -> list[PacketTrack]:
        """Where the uplink's one encode goes: every mesh link, and the media server's sending connection."""
        tracks = [t for m in self._meshes() for t in m.tracks()]
        if self._media is not None and self._media.track is not None:
            tracks.append(self._media.track)
        return tracks

    # --- the call's path: mesh or media server ---------------------------------------------

    def _run_media(self, actions: list[MediaAction]) -> None:
        for action in actions:
            match action:
                case OpenMesh():
                    self._mesh = CallMesh(
                        self._relay,
                        self._mesh_input,
                        self._call_state,
                        self._emit,
                        self._candidates,
                        self._timing,
                    )
                    peers = {p.id: p.voice for p in self._signaling.peers.values()}
                    self._mesh.joined(self._signaling.self_id or "", peers, self._voice, False, self._ice)
                case RetireMesh():
                    self._retired, self._mesh = self._mesh, None
                    if self._retired is not None:
                        self._retired.retire()
                case CloseMesh():
                    if (retired := self._retired) is not None:
                        self._retired = None
                        for peer_id in retired.call_states:
                            self._call_state(peer_id, events.CallState.CLOSED)
                        self._closing_task(retired.close())
                case Publish():
                    if self._media is None:
                        self._media = MediaLink(
                            self._send_media,
                            self._mixer.input_for,
                            self._heard_through_media,
                            self._gone_from_media,
                            lambda: self._emit(events.MediaUnreachable()),
                            self._timing.answer_timeout_s,
                        )
                    self._media.publish()
                case CloseMedia():
                    if (media := self._media) is not None:
                        self._media = None
                        for peer_id in media.heard:
                            self._gone_from_media(peer_id)
                        media.close()
                        self._closing_task(media.closed())
                case _:
                    assert_never(action)
        self._rules_timer.arm(self._rules.get_timer())

    def _fire(self) -> None:
        self._run_media(self._rules.handle_timer(self._loop.time()))

    def _closing_task(self, closing: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(closing)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _send_media(self, request: MediaRequest) -> None:
        self._signaling.send_media(request)

    def _heard_through_media(self, peer_id: str) -> None:
        self._emit(events.CallStateChanged(peer_id, events.CallState.CONNECTED))
        retired, media = self._retired, self._media
        if retired is not None and media is not None and all(map(media.hears, retired.connected_peers)):
            self._run_media(self._rules.media_ready(self._loop.time()))

    def _gone_from_media(self, peer_id: str) -> None:
        self._mixer.remove(peer_id)
        self._emit(events.CallStateChanged(peer_id, events.CallState.CLOSED))

    def _on_session(self, event: events.SessionEvent) -> None:
        now = self._loop.time()
        match event:
            case events.RoomJoined():
                for peer in event.peers:
                    self._mixer.silence(peer.id, peer.server_muted)
                self._ice = event.ice_servers
                mesh = self._mesh
                self._run_media(self._rules.joined(event.media, self._voice, event.resumed, now))
                if mesh is not None and mesh is self._mesh:  # the same mesh goes on: resume or rebuild it
                    peers = {p.id: p.voice for p in event.peers}
                    mesh.joined(event.self_id, peers, self._voice, event.resumed, event.ice_servers)
            case events.PeerArrived(peer=peer):
                self._mixer.silence(peer.id, peer.server_muted)
                if self._mesh is not None:
                    self._mesh.peer_arrived(peer.id, peer.voice)
            case events.PeerDeparted(peer_id=peer_id):
                for mesh in self._meshes():
                    mesh.peer_departed(peer_id)
                self._mixer.forget(peer_id)
            case events.PeerUpdated(peer=peer):
                if peer.id != self._signaling.self_id:
                    self._mixer.silence(peer.id, peer.server_muted)  # even if its client keeps sending
                    if self._mesh is not None:
                        self._mesh.peer_voice(peer.id, peer.voice)
                elif peer.server_muted != self._server_muted:
                    self._server_muted = peer.server_muted
                    self._mute_uplink()
            case events.SignalReceived(from_id=from_id, payload=payload):
                if self._mesh is not None:
                    self._mesh.signal_received(from_id, payload)
                else:  # the call goes through the media server; a peer still switching may offer
                    log.debug("signal from %s ignored: the call goes through the media server", from_id)
                return  # the call's business, not the owner's
            case events.MediaModeChanged(mode=mode):
                self._run_media(self._rules.mode_changed(mode, now))
                return
            case events.PublishAnswered(sdp=sdp):
                if self._media is not None:
                    self._rules.published()
                    self._media.published(sdp)
                return
            case events.StreamsOffered(sdp=sdp, streams=streams):
                if self._media is not None:
                    self._media.offered(sdp, streams)
                else:
                    log.info("media-offer ignored: we do not publish (voice off, or the mesh)")
                return
            case (
                events.ChatReceived()
                | events.HistoryPaged()
                | events.ConnectionLost()
                | events.ConnectionFailed()
                | events.ServerError()
                | events.RoomModerated()
            ):
                pass
            case _:
                assert_never(event)
        self._emit(event)

    async def _report_levels(self) -> None:
        while True:
            await asyncio.sleep(LEVELS_EVERY_S)
            self._emit(
                events.LevelsChanged(
                    self._uplink.input_level_dbfs, self._uplink.transmitting, self._mixer.levels()
                )
            )
