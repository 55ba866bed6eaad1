"""The engine's facade: one object the UI or the bot drives, one stream of events out.

It wires the signaling client, the call mesh and the audio path, and knows
no Qt. Every method is called on the event loop's thread.
"""

import asyncio
import logging
import ssl
from typing import Protocol

from protocol import Peer

from . import events
from .mesh import CallMesh
from .mixer import Mixer
from .pcm import Pcm
from .signaling import SignalingClient
from .tasks import cancel_and_wait
from .uplink import DEFAULT_BITRATE_BPS, TalkMode, Uplink

log = logging.getLogger("voxroom.engine")

LEVELS_EVERY_S = 0.1


class AudioIO(Protocol):
    """What drives the audio clock: a sound card, or the bot's pacer."""

    def start(self, capture: "CaptureSink", render: "RenderSource") -> None: ...

    async def stop(self) -> None: ...


class CaptureSink(Protocol):
    def __call__(self, frame: Pcm) -> None: ...


class RenderSource(Protocol):
    def __call__(self) -> Pcm: ...


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
        voice: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        bitrate_bps: int = DEFAULT_BITRATE_BPS,
        mixer: Mixer | None = None,
    ) -> None:
        self._emit = on_event
        self._audio = audio
        self.mixer = mixer or Mixer()
        self.mesh = CallMesh(self._send_signal, self.mixer.input_for, self._call_state)
        self.uplink = Uplink(asyncio.get_running_loop(), self.mesh.tracks, bitrate_bps)
        self.signaling = SignalingClient(
            url, room, username, password=password, voice=voice, ssl=ssl_context, on_event=self._on_signaling
        )
        self._voice = voice
        self._muted = False
        self._deafened = False
        self._levels_task: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------

    async def start(self) -> events.RoomJoined:
        """Join the room (raising the signaling client's typed errors), then start audio."""
        joined = await self.signaling.start()
        self._audio.start(self.uplink.process, self.mixer.render)
        self._levels_task = asyncio.ensure_future(self._report_levels())
        return joined

    async def leave(self) -> None:
        await self._shutdown()
        await self.signaling.leave()

    async def close(self) -> None:
        await self._shutdown()
        await self.signaling.close()

    async def _shutdown(self) -> None:
        await cancel_and_wait(self._levels_task)
        await self._audio.stop()
        await self.mesh.close()

    # --- controls ----------------------------------------------------------------

    def send_chat(self, text: str) -> str:
        return self.signaling.send_chat(text)

    def set_voice(self, voice: bool) -> None:
        self._voice = voice
        self.signaling.set_state(voice=voice)
        self.mesh.set_voice(voice)

    def set_muted(self, muted: bool) -> None:
        self._muted = muted
        self.uplink.muted = muted or self._deafened
        self.signaling.set_state(muted=muted)

    def set_deafened(self, deafened: bool) -> None:
        """Deafen plays nothing and, as every voice app does, mutes too."""
        self._deafened = deafened
        self.mixer.deafened = deafened
        self.uplink.muted = self._muted or deafened
        self.signaling.set_state(deafened=deafened)

    def set_talk_mode(self, mode: TalkMode) -> None:
        self.uplink.mode = mode

    def set_push_to_talk(self, pressed: bool) -> None:
        self.uplink.push_to_talk_pressed = pressed

    def set_peer_gain(self, peer_id: str, gain: float) -> None:
        self.mixer.set_gain(peer_id, gain)

    # --- wiring ------------------------------------------------------------------

    def _send_signal(self, peer_id: str, payload: dict[str, object]) -> None:
        self.signaling.send_signal(peer_id, payload)

    def _call_state(self, peer_id: str, state: str) -> None:
        if state == "closed":
            self.mixer.remove(peer_id)
        self._emit(events.CallStateChanged(peer_id, state))

    def _on_signaling(self, event: events.Event) -> None:
        if isinstance(event, events.RoomJoined):
            peers = {p.id: p.voice for p in event.peers}
            self.mesh.joined(event.self_id, peers, self._voice, event.resumed, event.ice_servers)
        elif isinstance(event, events.PeerJoined):
            self.mesh.peer_joined(event.peer.id, event.peer.voice)
        elif isinstance(event, events.PeerLeft):
            self.mesh.peer_left(event.peer_id)
            self.mixer.remove(event.peer_id)
        elif isinstance(event, events.PeerStateChanged):
            self._peer_state(event.peer)
        elif isinstance(event, events.SignalReceived):
            self.mesh.signal(event.from_id, dict(event.payload))
            return  # the call's business, not the owner's
        self._emit(event)

    def _peer_state(self, peer: Peer) -> None:
        if peer.id != self.signaling.self_id:
            self.mesh.peer_voice(peer.id, peer.voice)

    async def _report_levels(self) -> None:
        while True:
            await asyncio.sleep(LEVELS_EVERY_S)
            self._emit(
                events.LevelsChanged(
                    self.uplink.input_level_dbfs, self.uplink.transmitting, self.mixer.levels()
                )
            )
