"""A fake engine: records what the UI asks of it and emits the events a test scripts."""

from collections.abc import Callable
from dataclasses import dataclass, field

from client_desktop.engine import events
from client_desktop.engine.call_stats import CandidateType, ConnectionPath, PeerCallStats, TransportProtocol
from client_desktop.engine.cues import Cue
from client_desktop.engine.engine import AudioOptions
from client_desktop.ui.bridge import JoinRequest
from protocol import ChatPosted, ModRequest, Peer, Role, SendChat

SELF_ID = "me-1"


@dataclass
class FakeEngine:
    request: JoinRequest
    options: AudioOptions
    emit: events.EngineEventSink
    refuse: Exception | None = None
    """What ``start`` raises instead of joining, as the engine would."""
    peers: tuple[Peer, ...] = ()
    history: tuple[ChatPosted, ...] = ()
    calls: list[tuple[str, object]] = field(default_factory=list)
    applied: list[AudioOptions] = field(default_factory=list)
    cues: list[tuple[Cue, float]] = field(default_factory=list)
    """Cues played, with their volume (kept apart from ``calls``, which tests read from the end)."""
    sent: int = 0
    stats: list[PeerCallStats] = field(default_factory=list)
    """What ``call_stats`` answers; ``stats_error``, when set, is raised instead."""
    stats_error: Exception | None = None
    stats_reads: int = 0
    role: Role = Role.MEMBER
    """Ours in the ``RoomJoined`` the fake sends."""

    async def start(self) -> events.RoomJoined:
        if self.refuse is not None:
            raise self.refuse
        joined = events.RoomJoined(
            self.request.room, SELF_ID, self.request.username, self.peers, False, (), self.role
        )
        self.emit(joined)
        for chat in self.history:
            self.emit(events.ChatReceived(chat, own=False, from_history=True))
        return joined

    async def leave(self) -> None:
        self.calls.append(("leave", None))

    async def close(self) -> None:
        self.calls.append(("close", None))

    def send_chat(self, text: str) -> str:
        SendChat(text=text)  # raises ValueError on a text the protocol refuses, as the engine does
        self.sent += 1
        nonce = f"n{self.sent}"
        self.calls.append(("chat", text))
        return nonce

    def moderate(self, request: ModRequest) -> None:
        self.calls.append(("moderate", request))

    def fetch_history(self, before: int) -> None:
        self.calls.append(("history", before))

    def set_voice(self, voice: bool) -> None:
        self.calls.append(("voice", voice))

    def set_muted(self, muted: bool) -> None:
        self.calls.append(("muted", muted))

    def set_deafened(self, deafened: bool) -> None:
        self.calls.append(("deafened", deafened))

    def set_push_to_talk(self, pressed: bool) -> None:
        self.calls.append(("ptt", pressed))

    def set_peer_gain(self, peer_id: str, gain: float) -> None:
        self.calls.append(("gain", (peer_id, gain)))

    def play_cue(self, cue: Cue, volume: float) -> None:
        self.cues.append((cue, volume))

    async def apply_audio(self, options: AudioOptions) -> None:
        self.applied.append(options)

    async def call_stats(self) -> list[PeerCallStats]:
        self.stats_reads += 1
        if self.stats_error is not None:
            raise self.stats_error
        return list(self.stats)

    # --- scripting ------------------------------------------------------------

    def chat(
        self, chat_id: int, username: str, text: str, *, own: bool = False, nonce: str | None = None
    ) -> None:
        sender = SELF_ID if own else f"id-{username}"
        posted = ChatPosted(
            id=chat_id, from_=sender, username=username, text=text, ts=1_700_000_000_000, nonce=nonce
        )
        self.emit(events.ChatReceived(posted, own=own, from_history=False))


def call(
    name: str,
    local: CandidateType | None = CandidateType.HOST,
    protocol: TransportProtocol = TransportProtocol.UDP,
    *,
    remote: CandidateType = CandidateType.HOST,
    rtt_ms: float | None = 12.0,
    state: events.CallState = events.CallState.CONNECTED,
) -> PeerCallStats:
    """``peer(name)``'s call as the engine reports it; ``local=None``: ICE has not chosen a pair yet."""
    path = None if local is None else ConnectionPath(local, remote, protocol)
    return PeerCallStats(f"id-{name}", state, path, rtt_ms, 0.0, 3.0, 60.0)


def peer(name: str, *, voice: bool = True, muted: bool = False, deafened: bool = False) -> Peer:
    return Peer(f"id-{name}", name, muted, deafened, voice)


@dataclass
class FakeDeviceCheck:
    """Stands in for ``engine.devices.DeviceCheck``: records the tone, lets a test feed the meter."""

    tones: list[str] = field(default_factory=list)
    meter_device: str | None = None
    on_level: Callable[[float], None] | None = None
    meter_starts: int = 0
    fail: Exception | None = None

    async def play_tone(self, output_device: str) -> None:
        if self.fail is not None:
            raise self.fail
        self.tones.append(output_device)

    async def start_meter(self, input_device: str, on_level: Callable[[float], None]) -> None:
        if self.fail is not None:
            raise self.fail
        self.meter_device, self.on_level = input_device, on_level
        self.meter_starts += 1

    async def stop_meter(self) -> None:
        self.meter_device, self.on_level = None, None
