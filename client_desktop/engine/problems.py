"""Why the connection or a sound device failed, as codes and their parameters: no sentence.

The owner words them (the UI in the person's language, ``ui/engine_words.py``);
``str`` of each is the English for logs and the bot. Apart from ``events`` so
that the app's start, which imports ``events``, does not build them: the
engine's session and devices import them, and the UI's words when a problem
comes.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

from protocol import limits


class LinkTrouble(StrEnum):
    """Why the connection to the server failed or ended; the owner puts it in words (the UI in the
    person's language) with ``LinkProblem``'s parameters."""

    REFUSED = "refused"
    """Nothing listens at ``where``."""
    NOT_FOUND = "not-found"
    """No such host; ``detail``: the resolver's error."""
    NO_ANSWER = "no-answer"
    """Nothing answered the connection within ``seconds``."""
    UNREACHABLE = "unreachable"
    """The system cannot reach it; ``detail``: its error."""
    NOT_A_ROOM = "not-a-room"
    """A web server answered (``detail``: its HTTP status), not a voice room: the address lacks ``path``."""
    NOT_VOXROOM = "not-voxroom"
    """It does not speak the Voxroom protocol; ``detail``: the handshake's error."""
    UNTRUSTED = "untrusted"
    """Its certificate is not trusted; ``detail``: the verifier's reason."""
    TLS_FAILED = "tls-failed"
    """The secure connection failed otherwise; ``detail``: the TLS library's reason."""
    JOIN_UNANSWERED = "join-unanswered"
    """Connected, but the join got no answer within ``seconds``."""
    CLOSED_BEFORE_JOIN = "closed-before-join"
    SERVER_FULL = "server-full"
    """Closed before the join with "try again later"."""
    JOIN_REFUSED = "join-refused"
    """Closed before the join for a policy reason; ``detail``: the server's code (``auth-failed`` …)."""
    LOST = "lost"
    PING_TIMEOUT = "ping-timeout"
    """The server stopped answering our pings."""
    RESTARTING = "restarting"
    SUPERSEDED = "superseded"
    """Our place was taken over by another connection (joined again elsewhere?)."""
    REMOVED = "removed"
    """A moderator removed us; ``detail``: their reason, as they wrote it, or ""."""
    CLOSED = "closed"
    """Closed for another reason; ``detail``: the close code, ``reason``: what the server said, or ""."""


@dataclass(frozen=True, slots=True)
class LinkProblem:
    """Why the connection failed or ended: a code and its parameters, no sentence; ``str`` is the English."""

    trouble: LinkTrouble
    where: str = ""
    """The server's host and port."""
    detail: str = ""
    """What the system, the TLS library or the server said, as it said it (see ``LinkTrouble``), else ""."""
    seconds: float = 0.0
    """For ``NO_ANSWER`` and ``JOIN_UNANSWERED``: how long we waited."""
    reason: str = ""
    """For ``CLOSED``: the reason in the server's close frame."""

    def __str__(self) -> str:
        """For logs, the bot and plain-English owners."""
        where, detail = self.where, self.detail
        match self.trouble:
            case LinkTrouble.REFUSED:
                return f"{where} refused the connection: is the server running?"
            case LinkTrouble.NOT_FOUND:
                return f"cannot find the server {where} ({detail})"
            case LinkTrouble.NO_ANSWER:
                return f"no answer from {where} within {self.seconds:g} s"
            case LinkTrouble.UNREACHABLE:
                return f"cannot reach {where} ({detail})"
            case LinkTrouble.NOT_A_ROOM:
                return (
                    f"{where} answered HTTP {detail}, not a voice room; "
                    f"check the address (it ends in {limits.WS_PATH})"
                )
            case LinkTrouble.NOT_VOXROOM:
                return f"{where} does not speak the Voxroom protocol ({detail})"
            case LinkTrouble.UNTRUSTED:
                return (
                    f"the certificate of {where} is not trusted ({detail}); "
                    "if this is your own server, install its certificate or its CA"
                )
            case LinkTrouble.TLS_FAILED:
                return f"the secure connection to {where} failed ({detail})"
            case LinkTrouble.JOIN_UNANSWERED:
                return f"{where} did not answer the join within {self.seconds:g} s"
            case LinkTrouble.CLOSED_BEFORE_JOIN:
                return f"{where} closed the connection before the room was joined"
            case LinkTrouble.SERVER_FULL:
                return "the server is full, try again later"
            case LinkTrouble.JOIN_REFUSED:
                return f"the server refused to join: {detail}"
            case LinkTrouble.LOST:
                return "the connection was lost"
            case LinkTrouble.PING_TIMEOUT:
                return "the server stopped answering (ping timeout)"
            case LinkTrouble.RESTARTING:
                return "the server is restarting"
            case LinkTrouble.SUPERSEDED:
                return "this place was taken over by another connection (joined again elsewhere?)"
            case LinkTrouble.REMOVED:
                return f"a moderator removed you from the room{f': {detail}' if detail else ''}"
            case LinkTrouble.CLOSED:
                said = f": {self.reason}" if self.reason else ""
                return f"the server closed the connection (code {detail}{said})"
            case _:
                assert_never(self.trouble)


Reason = LinkProblem | str
"""Why a connection failed or ended: ours as a code (``LinkProblem``), or the server's own words."""


class DeviceTrouble(StrEnum):
    """What went wrong with a sound device; the owner puts it in words (the UI in the person's language)."""

    STOPPED = "stopped"
    """A stream stopped calling back (a device unplugged, the sound server gone)."""
    DISCONNECTED = "disconnected"
    """The chosen ``device`` left the sound server's list."""
    CANNOT_OPEN = "cannot-open"
    """``device`` ("" for the default) would not open; ``detail``: what PortAudio said."""
    SERVER_GONE = "server-gone"
    """The sound system itself stopped answering: no device can be opened until it is back."""


class DeviceRole(StrEnum):
    MICROPHONE = "microphone"
    SPEAKER = "speaker"


@dataclass(frozen=True, slots=True)
class DeviceProblem:
    """One device trouble: a code and its parameters, no sentence."""

    trouble: DeviceTrouble
    role: DeviceRole | None = None
    """Which device; None for ``STOPPED`` (the watchdog sees it for either) and ``SERVER_GONE``."""
    device: str = ""
    """The device as people read it (its label), or "" for the system's default."""
    detail: str = ""

    def __str__(self) -> str:
        """For logs, the bot and plain-English owners."""
        match self.trouble:
            case DeviceTrouble.STOPPED:
                return "the sound device stopped responding"
            case DeviceTrouble.DISCONNECTED:
                return f"the {self.role} {self.device!r} was disconnected"
            case DeviceTrouble.CANNOT_OPEN if not self.device:
                return f"cannot open the default {self.role} ({self.detail})"
            case DeviceTrouble.CANNOT_OPEN:
                return f"cannot open the {self.role} {self.device!r} ({self.detail})"
            case DeviceTrouble.SERVER_GONE:
                return "the sound system is not answering"
            case _:
                assert_never(self.trouble)


@dataclass(frozen=True, slots=True)
class DeviceFailure:
    """What failed and what audio fell back to (``AudioDeviceFailed.codes``; ``AudioDeviceFailed.of`` says
    it in English)."""

    problems: tuple[DeviceProblem, ...]
    on_default: tuple[DeviceRole, ...] = ()
    """The devices now on the system's default."""
    silent: tuple[DeviceRole, ...] = ()
    """The devices that could not be opened at all."""
