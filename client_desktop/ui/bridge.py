"""The one QObject between the engine and the widgets.

The engine emits typed events on the event loop's thread (Qt's thread, via
qasync); the bridge turns each into a Qt signal, so widgets only listen and
never hold the engine. Actions go the other way through plain methods. Only
this module and ``app.py`` touch the engine: the widgets can be tested
against a fake engine with no asyncio loop at all.
"""

import errno
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, assert_never

import msgspec
from PySide6.QtCore import QCoreApplication, QObject, Signal

from protocol import ErrorCode, ModAction, Moderated, ModRequest, Peer, Role, limits
from protocol.text import clean_chat

from ..engine import events
from ..engine.device_rules import DeviceList
from ..engine.errors import AddressRefused, SignalingError
from ..engine.events import FailureCode
from ..engine.shapes import AudioOptions, Cue
from .durations import duration_words
from .preferences import AudioSettings
from .relay_words import relay_words
from .stats_poll import StatsPoller, StatsSource

if TYPE_CHECKING:
    from ..engine.problems import Reason

log = logging.getLogger("voxroom.ui")


class JoinProblem(StrEnum):
    """Why a join failed before the engine could try (beside the engine's ``FailureCode``)."""

    BAD_DETAILS = "bad-details"
    """The engine refused the address, room or name (a ``ValueError``)."""
    CANNOT_HOST = "cannot-host"
    """The bundled server did not start: the port is in use, or hosting is not available."""


JoinFailure = FailureCode | JoinProblem


def plain_words(code: FailureCode, reason: "Reason") -> str:
    """A sentence for people: never a traceback, never a bare protocol code."""
    from .engine_words import reason_words, removal_words  # with the engine, not at the app's start

    message = (
        removal_words(reason) if code in (FailureCode.KICKED, FailureCode.BANNED) else reason_words(reason)
    )
    match code:
        case FailureCode.AUTH_FAILED:
            return QCoreApplication.translate("Bridge", "Wrong password for this server.")
        case FailureCode.NAME_TAKEN:
            return QCoreApplication.translate(
                "Bridge", "Someone in this room already uses that name. Pick another one."
            )
        case FailureCode.ROOM_FULL:
            return QCoreApplication.translate(
                "Bridge", "This room is full. Try again later or pick another room."
            )
        case FailureCode.SERVER_FULL:
            return QCoreApplication.translate(
                "Bridge", "The server is full right now. Try again in a moment."
            )
        case FailureCode.BAD_MESSAGE:
            return QCoreApplication.translate("Bridge", "The server did not accept these details.")
        case FailureCode.BANNED if not message:
            return QCoreApplication.translate(
                "Bridge", "A moderator has barred you from this server for a while."
            )
        case FailureCode.BANNED:
            return QCoreApplication.translate(
                "Bridge", "A moderator has barred you from this server for a while. ({message})"
            ).format(message=message)
        case FailureCode.ROOM_LOCKED:
            return QCoreApplication.translate(
                "Bridge", "This room is locked: nobody new may join it for now."
            )
        case FailureCode.KICKED if not message:
            return QCoreApplication.translate("Bridge", "A moderator removed you from the room.")
        case FailureCode.KICKED:
            return QCoreApplication.translate(
                "Bridge", "A moderator removed you from the room. ({message})"
            ).format(message=message)
        case FailureCode.SUPERSEDED:
            return QCoreApplication.translate(
                "Bridge", "You joined this room from another window, so this one was disconnected."
            )
        case FailureCode.UNREACHABLE:
            return QCoreApplication.translate(
                "Bridge", "Cannot reach the server. Check the address and that it is running. ({message})"
            ).format(message=message)
        case FailureCode.TLS:
            return QCoreApplication.translate(
                "Bridge", "The secure connection failed; the server's certificate is not trusted. ({message})"
            ).format(message=message)
        case FailureCode.INTERNAL:
            return QCoreApplication.translate(
                "Bridge", "Something went wrong inside Voxroom. ({message})"
            ).format(message=message)
        case _:
            assert_never(code)


def server_words(error: events.ServerError) -> str:
    """A non-fatal refusal for people: ours for every code we know (the server's words as a detail
    where they add one); codes a newer server may add say it in the server's own words."""
    said = error.message
    match error.code:
        case ErrorCode.NOT_MODERATOR:
            return QCoreApplication.translate(
                "Bridge",
                "Only moderators can do that. To moderate, join again with the server's admin password "
                "(under Advanced).",
            )
        case ErrorCode.UNKNOWN_TARGET:
            return QCoreApplication.translate("Bridge", "That person is no longer in the room.")
        case ErrorCode.RATE_LIMITED:
            return QCoreApplication.translate("Bridge", "You are sending too fast; wait a moment.")
        case ErrorCode.STORAGE_FAILED:
            return QCoreApplication.translate(
                "Bridge", "The server could not save that message; send it again later."
            )
        case ErrorCode.BAD_MESSAGE:
            return QCoreApplication.translate("Bridge", "The server did not accept that ({reason}).").format(
                reason=said
            )
        case ErrorCode.NOT_JOINED | ErrorCode.ALREADY_JOINED:
            return QCoreApplication.translate(
                "Bridge", "The server and Voxroom disagree about whether you are in the room ({reason})."
            ).format(reason=said)
        case ErrorCode.MEDIA_UNSUPPORTED:
            return QCoreApplication.translate(
                "Bridge",
                "This room's call goes through a media server this version of Voxroom cannot use; "
                "chat still works.",
            )
        case ErrorCode.MEDIA_FAILED:
            return QCoreApplication.translate(
                "Bridge", "The call through the server's media server has a problem: {reason}"
            ).format(reason=said)
        case code if code in {failure.value for failure in FailureCode}:
            return plain_words(FailureCode(code), said)
    return said or QCoreApplication.translate("Bridge", "The server reported a problem ({code}).").format(
        code=error.code
    )


@dataclass(frozen=True, slots=True)
class JoinRequest:
    server: str
    room: str
    username: str
    password: str | None = None
    host: bool = False
    voice: bool = True
    admin_password: str | None = None
    """The server's admin password: we join as a moderator."""
    room_password: str | None = None
    """What a room locked with a password asks of new joins."""


class EngineLike(StatsSource, Protocol):
    """What the bridge uses of ``Engine`` (a fake stands in for it in widget tests)."""

    async def start(self) -> events.RoomJoined: ...
    async def leave(self) -> None: ...
    async def close(self) -> None: ...
    def send_chat(self, text: str) -> str: ...
    def moderate(self, request: ModRequest) -> None: ...
    def fetch_history(self, before: int) -> None: ...
    def set_voice(self, voice: bool) -> None: ...
    def set_muted(self, muted: bool) -> None: ...
    def set_deafened(self, deafened: bool) -> None: ...
    def set_push_to_talk(self, pressed: bool) -> None: ...
    def set_peer_gain(self, peer_id: str, gain: float) -> None: ...
    def play_cue(self, cue: Cue, volume: float) -> None: ...
    async def apply_audio(self, options: AudioOptions) -> None: ...


class DeviceTester(Protocol):
    """The settings' checks outside a call (``engine.devices.DeviceCheck``; a fake in tests)."""

    async def play_tone(self, output_device: str) -> None: ...
    async def start_meter(self, input_device: str, on_level: Callable[[float], None]) -> None: ...
    async def stop_meter(self) -> None: ...


EngineFactory = Callable[[JoinRequest, AudioOptions, events.EngineEventSink], EngineLike]


@dataclass(frozen=True, slots=True)
class Hosted:
    """The bundled server as we join it."""

    url: str
    shared: str
    """The address to give others."""
    admin_password: str | None = None
    """Its admin password, which only we know: the host moderates its own room."""


HostServer = Callable[[], Awaitable[Hosted]]
"""Starts the bundled server once (or again with new settings)."""
Spawn = Callable[[Coroutine[Any, Any, None]], object]
ListDevices = Callable[[], DeviceList]
"""The input and the output devices, as the sound system sees them now."""


class Bridge(QObject):
    """Engine events in, Qt signals out; widget actions in, engine calls out."""

    joining = Signal()
    joined = Signal(object)  # events.RoomJoined
    join_failed = Signal(object, str)  # JoinFailure, plain words
    hosting = Signal(str)  # the address others can use
    peer_arrived = Signal(object)  # Peer
    peer_departed = Signal(str)
    peer_updated = Signal(object)  # Peer
    chat_received = Signal(object)  # events.ChatReceived
    chat_queued = Signal(str, str)  # nonce, text
    history_paged = Signal(object)  # events.HistoryPaged
    connection_lost = Signal(str, float)  # reason, retry in s
    connection_failed = Signal(object, str)  # FailureCode, plain words
    levels = Signal(object)  # events.LevelsChanged
    call_state = Signal(str, object)  # peer id, CallState
    call_stats = Signal(object)  # list[PeerCallStats] every ~2 s in a room; [] on leaving
    audio_failed = Signal(str)
    server_error = Signal(str)
    notice = Signal(str)  # what a moderator did, in words
    moderated = Signal(object)  # the Moderated notice itself, for what it changes (the lock)
    warning = Signal(str)  # something works less well than it should (no relay server), in words
    self_changed = Signal(object)  # our own Peer, as the controls set it
    left = Signal()
    tone_played = Signal(str)  # "" when it played, else plain words
    input_level = Signal(float)  # dBFS of the microphone outside a call
    input_meter_failed = Signal(str)
    devices_changed = Signal(object)  # DeviceList: a device came or went (the app's device watch emits it)

    def __init__(
        self,
        make_engine: EngineFactory,
        spawn: Spawn,
        host_server: HostServer | None = None,
        settings: AudioSettings | None = None,
        list_devices: ListDevices | None = None,
        device_check: DeviceTester | None = None,
    ) -> None:
        super().__init__()
        self._make_engine = make_engine
        self._spawn = spawn
        self._host_server = host_server
        self.settings = settings or AudioSettings()
        self._list_devices = list_devices
        self._device_check = device_check
        self._metering = False
        self.stats = StatsPoller(spawn, self)
        self.stats.rows.connect(self.call_stats)
        self._engine: EngineLike | None = None
        self._request: JoinRequest | None = None
        self.server = ""
        """The server of the room we are joining or in, as the engine was given it (ours when hosting)."""
        self.me: Peer | None = None
        self.locked: bool | None = None
        """Whether our room is locked, as far as we saw a moderator say it (None: not known)."""
        self.joined_at: float | None = None
        """When the last ``RoomJoined`` reached us (``time.monotonic()``): the test driver times from it."""

    @property
    def in_room(self) -> bool:
        return self._engine is not None and self.me is not None

    # --- lifecycle -------------------------------------------------------------

    def join(self, request: JoinRequest) -> None:
        """Start joining; the outcome arrives as ``joined`` or ``join_failed``."""
        self._request = request
        self.joining.emit()
        self._spawn(self._join(request))

    def retry(self) -> None:
        if self._request is not None:
            self._spawn(self._rejoin(self._request))

    def leave(self) -> None:
        self.stats.stop()
        engine, self._engine, self.me = self._engine, None, None
        if engine is not None:
            self._spawn(engine.leave())
        self.left.emit()

    async def shutdown(self) -> None:
        """Close the connection on quit (``leave`` tells the room; ``close`` just drops)."""
        self.stats.stop()
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.leave()
        if self._device_check is not None:
            await self._device_check.stop_meter()

    async def _rejoin(self, request: JoinRequest) -> None:
        self.stats.stop()
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.close()
        await self._join(request)

    async def _join(self, request: JoinRequest) -> None:
        url = request.server
        if request.host:
            if self._host_server is None:
                self._failed(
                    JoinProblem.CANNOT_HOST,
                    QCoreApplication.translate("Bridge", "Hosting is not available in this copy of Voxroom."),
                )
                return
            try:
                hosted = await self._host_server()
            except OSError as exc:  # the port is in use, or the data folder cannot be written
                log.warning("hosting failed: %s", exc)
                self._failed(
                    JoinProblem.CANNOT_HOST,
                    QCoreApplication.translate(
                        "Bridge", "Could not start a server on this computer: {why}"
                    ).format(why=_why(exc)),
                )
                return
            self.hosting.emit(hosted.shared)
            url, request = hosted.url, replace(request, admin_password=hosted.admin_password)
        self.server = url
        try:
            engine = self._make_engine(
                replace(request, server=url, host=False),
                self.settings.options,
                self._on_event,
            )
            self._engine = engine  # start() emits RoomJoined and the history before it returns
            await engine.start()
        except SignalingError as exc:
            self._failed(exc.code, plain_words(exc.code, exc.message))
        except AddressRefused as exc:  # the form accepts what websockets cannot use (a user name in it)
            self._failed(
                JoinProblem.BAD_DETAILS,
                QCoreApplication.translate(
                    "Bridge", "This server address cannot be used: {address}. Type it as host:port."
                ).format(address=exc.address),
            )
        except ValueError as exc:  # a rule the form does not check as the engine does
            log.warning("join refused by the engine: %s", exc)
            self._failed(
                JoinProblem.BAD_DETAILS,
                QCoreApplication.translate("Bridge", "These details cannot be used: {problem}").format(
                    problem=exc
                ),
            )

    def _failed(self, code: JoinFailure, message: str) -> None:
        self.stats.stop()
        self._engine, self.me = None, None
        self.join_failed.emit(code, message)

    # --- actions ----------------------------------------------------------------

    def send_chat(self, text: str) -> str:
        """Queue a message (``ValueError`` if it breaks the protocol's rules)."""
        if self._engine is None:
            raise ValueError(QCoreApplication.translate("Bridge", "you are not in a room"))
        nonce = self._engine.send_chat(text)
        self.chat_queued.emit(nonce, clean_chat(text, limits.MAX_CHAT_CHARS))
        return nonce

    def fetch_history(self, before: int) -> None:
        """Ask for older chats (the reader scrolled to the top); ``history_paged`` answers."""
        if self._engine is not None:
            self._engine.fetch_history(before)

    @property
    def is_moderator(self) -> bool:
        """We joined with the server's admin password, as the server's ``joined`` said."""
        return self.in_room and self.me is not None and self.me.role is Role.MODERATOR

    def moderate(self, request: ModRequest) -> None:
        """Kick, ban, server-mute or lock; the room hears the outcome (``notice``), refusals in words."""
        if self._engine is not None:
            self._engine.moderate(request)

    def set_voice(self, voice: bool) -> None:
        self._set_self(voice=voice)
        if self._engine is not None:
            self._engine.set_voice(voice)

    def set_muted(self, muted: bool) -> None:
        self._set_self(muted=muted)
        if self._engine is not None:
            self._engine.set_muted(muted)
            self._cue(Cue.MUTE if muted else Cue.UNMUTE)

    def set_deafened(self, deafened: bool) -> None:
        self._set_self(deafened=deafened)
        if self._engine is not None:
            self._engine.set_deafened(deafened)

    def set_push_to_talk(self, pressed: bool) -> None:
        if self._engine is not None:
            self._engine.set_push_to_talk(pressed)

    def set_peer_gain(self, peer_id: str, gain: float) -> None:
        if self._engine is not None:
            self._engine.set_peer_gain(peer_id, gain)

    def apply_settings(self, settings: AudioSettings) -> None:
        """Use new audio settings now, in the running call too."""
        self.settings = settings
        if self._engine is not None:
            self._spawn(self._engine.apply_audio(settings.options))

    def audio_devices(self) -> DeviceList:
        """Devices for the settings; none (only the system default) if the sound system fails."""
        if self._list_devices is None:
            return DeviceList()
        try:
            return self._list_devices()
        except Exception as exc:  # PortAudio missing or broken: the app still runs, chat only
            log.warning("cannot list audio devices: %s", exc)
            return DeviceList()

    @property
    def can_check_devices(self) -> bool:
        return self._device_check is not None

    def play_test_tone(self, output_device: str) -> None:
        """A short 440 Hz tone through ``output_device``; the outcome arrives as ``tone_played``."""
        if self._device_check is None:
            self.tone_played.emit(QCoreApplication.translate("Bridge", "There is no sound output here."))
            return
        self._spawn(self._play_tone(self._device_check, output_device))

    def start_input_meter(self, input_device: str) -> None:
        """Meter the microphone outside a call (in a call, ``levels`` does it)."""
        if self._device_check is None or self.in_room:
            return
        self._metering = True
        self._spawn(self._start_meter(self._device_check, input_device))

    def stop_input_meter(self) -> None:
        if self._device_check is not None and self._metering:
            self._metering = False
            self._spawn(self._device_check.stop_meter())

    async def _play_tone(self, check: DeviceTester, output_device: str) -> None:
        try:
            await check.play_tone(output_device)
        except Exception as exc:  # a device gone, PortAudio missing: say so, never crash
            log.warning("test tone failed: %s", exc)
            self.tone_played.emit(
                QCoreApplication.translate("Bridge", "Could not play the test tone: {problem}").format(
                    problem=_device_why(exc)
                )
            )
        else:
            self.tone_played.emit("")

    async def _start_meter(self, check: DeviceTester, input_device: str) -> None:
        try:
            await check.start_meter(input_device, self._meter_level)
        except Exception as exc:
            log.warning("input meter failed: %s", exc)
            self._metering = False
            self.input_meter_failed.emit(
                QCoreApplication.translate("Bridge", "Cannot open the microphone: {problem}").format(
                    problem=_device_why(exc)
                )
            )

    def _meter_level(self, dbfs: float) -> None:
        if self._metering:
            self.input_level.emit(dbfs)

    def _cue(self, cue: Cue) -> None:
        """A sound for what just happened, if the settings want them (the engine mixes it into the call)."""
        if self._engine is not None and self.settings.cues:
            self._engine.play_cue(cue, self.settings.cue_volume)

    def _set_self(self, **changes: bool) -> None:
        if self.me is None:
            return
        self.me = msgspec.structs.replace(self.me, **changes)
        self.self_changed.emit(self.me)

    # --- events -----------------------------------------------------------------

    def _on_event(self, event: events.EngineEvent) -> None:
        match event:
            case events.RoomJoined():
                self.joined_at = time.monotonic()
                voice = self._request.voice if self._request is not None else True
                if self.me is None:
                    self._cue(Cue.JOIN)  # we are in (not again after a reconnect)
                if self.me is None:
                    self.locked = None
                if self.me is None or self.me.id != event.self_id:
                    self.me = Peer(event.self_id, event.username, False, False, voice, role=event.role)
                self.me = msgspec.structs.replace(self.me, role=event.role)
                self.joined.emit(event)
                if self._engine is not None:
                    self.stats.start(self._engine)
            case events.PeerArrived():
                self._cue(Cue.JOIN)
                self.peer_arrived.emit(event.peer)
            case events.PeerDeparted():
                self._cue(Cue.LEAVE)
                self.peer_departed.emit(event.peer_id)
            case events.PeerUpdated():
                self._server_muted(event.peer)
                self.peer_updated.emit(event.peer)
            case events.ChatReceived():
                self.chat_received.emit(event)
            case events.HistoryPaged():
                self.history_paged.emit(event)
            case events.ConnectionLost():
                from .engine_words import reason_words  # with the engine, not at the app's start

                self.connection_lost.emit(reason_words(event.reason), event.retry_in_s)
            case events.ConnectionFailed():
                self.stats.stop()  # final: Retry makes a new engine
                self.connection_failed.emit(event.code, plain_words(event.code, event.message))
            case events.LevelsChanged():
                self.levels.emit(event)
            case events.CallStateChanged():
                self.call_state.emit(event.peer_id, event.state)
                self.stats.poll()  # show a new path now rather than at the next tick
            case events.AudioDeviceFailed():
                from .engine_words import device_words

                self.audio_failed.emit(device_words(event))
            case events.RoomModerated():
                if event.notice.action is ModAction.LOCK_ROOM:
                    self.locked = event.notice.locked
                self.moderated.emit(event.notice)
                self.notice.emit(self.moderation_words(event.notice))
            case events.RelayUnusable():
                self.warning.emit(relay_words(event))
            case events.MediaUnreachable():
                self.warning.emit(
                    self.tr(
                        "Cannot reach the server's media port from here, so you hear no one and no one "
                        "hears you; chat still works. A firewall may block its UDP ports."
                    )
                )
            case events.ServerError():
                self.server_error.emit(server_words(event))
            case _:
                assert_never(event)

    def moderation_words(self, n: Moderated) -> str:
        """A moderator's act in words for people, as the room's status line shows it."""
        by, target = n.by_username, n.target_username
        match n.action:
            case ModAction.KICK:
                done = self.tr("{by} kicked {target}").format(by=by, target=target)
            case ModAction.BAN:
                done = self.tr("{by} banned {target} for {duration}").format(
                    by=by, target=target, duration=duration_words(n.duration_s or 0)
                )
            case ModAction.SERVER_MUTE:
                done = (
                    self.tr("{by} muted {target}") if n.muted else self.tr("{by} unmuted {target}")
                ).format(by=by, target=target)
            case ModAction.LOCK_ROOM:
                if not n.locked:
                    done = self.tr("{by} unlocked the room").format(by=by)
                elif n.with_password:
                    done = self.tr("{by} locked the room with a password").format(by=by)
                else:
                    done = self.tr("{by} locked the room").format(by=by)
            case _:
                assert_never(n.action)
        return self.tr("{done}: {reason}").format(done=done, reason=n.reason) if n.reason else done

    def _server_muted(self, peer: Peer) -> None:
        """A moderator muted or unmuted us: sound it, as our own mute is sounded."""
        if self.me is not None and peer.id == self.me.id and peer.server_muted != self.me.server_muted:
            self.me = msgspec.structs.replace(self.me, server_muted=peer.server_muted)
            self._cue(Cue.MUTE if peer.server_muted else Cue.UNMUTE)


def _device_why(exc: Exception) -> str:
    """A device check's failure: the sound system's silence in our words, else PortAudio's own."""
    if isinstance(exc, TimeoutError):
        return QCoreApplication.translate("Bridge", "the sound system did not answer in time")
    return str(exc) or type(exc).__name__


def _why(exc: OSError) -> str:
    """An OS error in words, without its errno: the port's usual story said plainly."""
    if exc.errno == errno.EADDRINUSE:
        return QCoreApplication.translate(
            "Bridge",
            "its port is already in use (is Voxroom already hosting, or another program on that port?).",
        )
    return f"{exc.strerror or exc}."
