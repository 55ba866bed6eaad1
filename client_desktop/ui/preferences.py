"""What the app remembers between runs, in ``QSettings`` (one place for every key).

Values are read back defensively: a hand-edited or older settings file
yields the defaults for what it cannot parse, never a crash at start-up.
"""

from dataclasses import dataclass, field, fields

from PySide6.QtCore import QByteArray, QSettings

from protocol import limits

from ..engine.engine import AudioOptions
from ..engine.uplink import TalkMode

DEFAULT_PTT_KEY = "F8"
BITRATES_BPS = (16_000, 24_000, 32_000, 48_000, 64_000)


@dataclass(frozen=True, slots=True)
class AudioSettings:
    """The engine's ``AudioOptions`` and what only the window uses: the push-to-talk key."""

    options: AudioOptions = field(default_factory=AudioOptions)
    ptt_key: str = DEFAULT_PTT_KEY


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
        except ValueError:
            return AudioSettings()
        return AudioSettings(options, str(s.value("audio/ptt_key", DEFAULT_PTT_KEY)) or DEFAULT_PTT_KEY)

    def save_audio(self, audio: AudioSettings) -> None:
        for f in fields(audio.options):
            value = getattr(audio.options, f.name)
            self._s.setValue(f"audio/{f.name}", value.value if isinstance(value, TalkMode) else value)
        self._s.setValue("audio/ptt_key", audio.ptt_key)

    def geometry(self, key: str) -> QByteArray | None:
        value = self._s.value(f"window/{key}")
        return value if isinstance(value, QByteArray) else None

    def save_geometry(self, key: str, value: QByteArray) -> None:
        self._s.setValue(f"window/{key}", value)


def _bool(value: object) -> bool:
    """QSettings' INI backend hands booleans back as the strings 'true'/'false'."""
    return value is True or str(value).lower() == "true"
