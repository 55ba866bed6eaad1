"""The engine's plain values that the window holds: audio settings, cues, a call's stats.

They live apart from the code that uses them so that importing them costs
nothing: the login window imports this, not numpy, PyAV, aiortc, livekit
or sounddevice, which load when the first call starts (start time in
docs/benchmarks.md). ``tests/ui/test_start_imports.py`` holds that line.
"""

import enum
from dataclasses import dataclass
from enum import StrEnum

from .events import CallState

DEFAULT_BITRATE_BPS = 32_000
DEFAULT_VAD_THRESHOLD_DBFS = -50.0


class TalkMode(enum.Enum):
    OPEN = "open"  # always transmit (unless muted)
    VOICE_ACTIVITY = "vad"
    PUSH_TO_TALK = "ptt"


@dataclass(frozen=True, slots=True)
class ProcessingSettings:
    echo_cancellation: bool = True
    noise_suppression: bool = True
    auto_gain_control: bool = True

    @property
    def any(self) -> bool:
        return self.echo_cancellation or self.noise_suppression or self.auto_gain_control


@dataclass(frozen=True, slots=True)
class AudioOptions:
    """What the audio settings change, at the start and in a running call."""

    input_device: str = ""
    """A device name; "" is the system default."""
    output_device: str = ""
    echo_cancellation: bool = True
    noise_suppression: bool = True
    talk_mode: TalkMode = TalkMode.VOICE_ACTIVITY
    vad_threshold_dbfs: float = DEFAULT_VAD_THRESHOLD_DBFS
    bitrate_bps: int = DEFAULT_BITRATE_BPS

    @property
    def processing(self) -> ProcessingSettings:
        return ProcessingSettings(self.echo_cancellation, self.noise_suppression, True)


class Cue(StrEnum):
    JOIN = "join"
    LEAVE = "leave"
    MUTE = "mute"
    UNMUTE = "unmute"


class CandidateType(StrEnum):
    HOST = "host"
    SERVER_REFLEXIVE = "srflx"
    PEER_REFLEXIVE = "prflx"
    RELAYED = "relay"


class TransportProtocol(StrEnum):
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


@dataclass(frozen=True, slots=True)
class ConnectionPath:
    """How our packets reach the peer: through a TURN relay when either side is ``relay``."""

    local: CandidateType
    remote: CandidateType
    protocol: TransportProtocol
    """How our packets leave us: to the peer, or, when ``local`` is relayed, to our TURN server."""

    @property
    def relayed(self) -> bool:
        return CandidateType.RELAYED in (self.local, self.remote)


@dataclass(frozen=True, slots=True)
class PeerCallStats:
    peer_id: str
    state: CallState
    path: ConnectionPath | None
    """None until ICE has chosen a pair."""
    rtt_ms: float | None
    """None until a receiver report from the peer echoes one of our sender reports."""
    loss: float | None
    """Fraction of the peer's packets that never arrived, 0.0 to 1.0."""
    jitter_ms: float | None
    playout_delay_ms: float | None
    """How far behind the newest packet our playout runs (our own buffer)."""
