"""What the app remembers between runs, in ``QSettings`` (one place for every key).

Values are read back defensively: a hand-edited or older settings file
yields the defaults for what it cannot parse, never a crash at start-up.
A person's volume is remembered by server and name (the name as the server
compares names), since a peer id changes at every join; passwords are
never remembered.
"""

from dataclasses import dataclass, field, fields
from urllib.parse import quote, urlsplit

from PySide6.QtCore import QByteArray, QSettings

from protocol import limits, name_key

from ..engine.shapes import AudioOptions, TalkMode
from .i18n import Language

DEFAULT_PTT_KEY = "F8"
BITRATES_BPS = (16_000, 24_000, 32_000, 48_000, 64_000)
DEFAULT_CUE_VOLUME = 0.5
MAX_GAIN = 2.0
"""The people list's volume slider goes to 200 %."""


@dataclass(frozen=True, slots=True)
class AudioSettings:
    """The engine's ``AudioOptions`` and what only the app uses: the push-to-talk key, the cues."""

    options: AudioOptions = field(default_factory=AudioOptions)
    ptt_key: str = DEFAULT_PTT_KEY
    cues: bool = True
    """Sounds when someone joins or leaves and when we are muted or unmuted."""
    cue_volume: float = DEFAULT_CUE_VOLUME
    """0 to 1; cues are mixed into the call's output at this level."""
    keep_in_tray: bool = True
    """Closing the window keeps the call going in the tray, where the desktop has one (else it quits):
    people close a voice app's window beside a game and expect to stay in the call, and the tray says
    so the first time."""


@dataclass(frozen=True, slots=True)
class LoginValues:
    server: str = f"ws://127.0.0.1:{limits.DEFAULT_PORT}{limits.WS_PATH}"
    room: str = "lobby"
    username: str = ""
    host: bool = False
    host_network: bool = False
    """Hosting for the network (every interface), not for this computer only."""


class Preferences:
    def __init__(self, settings: QSettings | None = None) -> None:
        self._s = settings if settings is not None else QSettings()

    def login(self) -> LoginValues:
        d = LoginValues()
        return LoginValues(
            server=str(self._s.value("login/server", d.server)),
            room=str(self._s.value("login/room", d.room)),
            username=str(self._s.value("login/username", d.username)),
            host=_bool(self._s.value("login/host", d.host)),
            host_network=_bool(self._s.value("login/host_network", d.host_network)),
        )

    def save_login(self, values: LoginValues) -> None:
        for f in fields(values):
            self._s.setValue(f"login/{f.name}", getattr(values, f.name))

    def audio(self) -> AudioSettings:
        d = AudioOptions()
        s = self._s
        try:
            options = AudioOptions(
                input_device=str(s.value("audio/input_device", d.input_device)),
                output_device=str(s.value("audio/output_device", d.output_device)),
                echo_cancellation=_bool(s.value("audio/echo_cancellation", d.echo_cancellation)),
                noise_suppression=_bool(s.value("audio/noise_suppression", d.noise_suppression)),
                talk_mode=TalkMode(str(s.value("audio/talk_mode", d.talk_mode.value))),
                vad_threshold_dbfs=float(str(s.value("audio/vad_threshold_dbfs", d.vad_threshold_dbfs))),
                bitrate_bps=int(str(s.value("audio/bitrate_bps", d.bitrate_bps))),
            )
            cue_volume = min(1.0, max(0.0, float(str(s.value("audio/cue_volume", DEFAULT_CUE_VOLUME)))))
        except ValueError:
            return AudioSettings()
        return AudioSettings(
            options,
            str(s.value("audio/ptt_key", DEFAULT_PTT_KEY)) or DEFAULT_PTT_KEY,
            _bool(s.value("audio/cues", True)),
            cue_volume,
            _bool(s.value("window/keep_in_tray", True)),
        )

    def save_audio(self, audio: AudioSettings) -> None:
        for f in fields(audio.options):
            value = getattr(audio.options, f.name)
            self._s.setValue(f"audio/{f.name}", value.value if isinstance(value, TalkMode) else value)
        self._s.setValue("audio/ptt_key", audio.ptt_key)
        self._s.setValue("audio/cues", audio.cues)
        self._s.setValue("audio/cue_volume", audio.cue_volume)
        self._s.setValue("window/keep_in_tray", audio.keep_in_tray)

    def peer_gain(self, server: str, username: str) -> float | None:
        """The volume we gave ``username`` on ``server``, or None (as sent)."""
        try:
            gain = float(str(self._s.value(_gain_key(server, username), "")))
        except ValueError:
            return None
        return gain if 0.0 <= gain <= MAX_GAIN else None

    def save_peer_gain(self, server: str, username: str, gain: float) -> None:
        """Remember a volume; 1.0 (as sent) is forgotten rather than stored."""
        if gain == 1.0:
            self._s.remove(_gain_key(server, username))
        else:
            self._s.setValue(_gain_key(server, username), gain)

    def last_room(self, server: str) -> str | None:
        """The room we were last in on ``server``."""
        room = self._s.value(f"rooms/{_server_key(server)}")
        return room if isinstance(room, str) and room else None

    def save_last_room(self, server: str, room: str) -> None:
        self._s.setValue(f"rooms/{_server_key(server)}", room)

    def language(self) -> Language:
        """The language chosen in Settings; the system's unless one was chosen (or the value is unknown)."""
        try:
            return Language(str(self._s.value("ui/language", Language.SYSTEM.value)))
        except ValueError:
            return Language.SYSTEM

    def save_language(self, language: Language) -> None:
        self._s.setValue("ui/language", language.value)

    def geometry(self, key: str) -> QByteArray | None:
        value = self._s.value(f"window/{key}")
        return value if isinstance(value, QByteArray) else None

    def save_geometry(self, key: str, value: QByteArray) -> None:
        self._s.setValue(f"window/{key}", value)


def _server_key(url: str) -> str:
    """One key per server however its URL was typed (host case, a trailing slash), with no ``/``:
    QSettings would read it as groups."""
    parts = urlsplit(url)
    where = (parts.netloc.lower() + parts.path.rstrip("/")) if parts.netloc else url
    return quote(where, safe="")


def _gain_key(server: str, username: str) -> str:
    return f"volumes/{_server_key(server)}/{quote(name_key(username), safe='')}"


def _bool(value: object) -> bool:
    """QSettings' INI backend hands booleans back as the strings 'true'/'false'."""
    return value is True or str(value).lower() == "true"
