"""The engine's codes said in the person's language: why the connection failed or ended, what a
sound device did.

The engine imports no Qt, so its events carry codes and parameters (``LinkProblem``,
``DeviceProblem``) beside English for logs and the bot; here they become
translated sentences, with what the system or the server said kept as it
was said. A reason that is the server's own words (a plain ``str``) stays as
written.
"""

from typing import assert_never

from PySide6.QtCore import QLocale, QObject

from protocol import limits

from ..engine.events import AudioDeviceFailed
from ..engine.problems import DeviceProblem, DeviceRole, DeviceTrouble, LinkProblem, LinkTrouble, Reason


class EngineWords(QObject):
    """A ``QObject`` only so that lupdate reads the strings' context from ``self.tr``."""

    def reason(self, reason: Reason) -> str:
        """Why the connection failed or ended, as a clause (it goes inside a sentence)."""
        if isinstance(reason, str):
            return reason  # the server's own words
        where, detail = reason.where, reason.detail
        seconds = QLocale().toString(reason.seconds, "g", 3)
        match reason.trouble:
            case LinkTrouble.REFUSED:
                return self.tr("{where} refused the connection: is the server running?").format(where=where)
            case LinkTrouble.NOT_FOUND:
                return self.tr("cannot find the server {where} ({error})").format(where=where, error=detail)
            case LinkTrouble.NO_ANSWER:
                return self.tr("no answer from {where} within {seconds} s").format(
                    where=where, seconds=seconds
                )
            case LinkTrouble.UNREACHABLE:
                return self.tr("cannot reach {where} ({error})").format(where=where, error=detail)
            case LinkTrouble.NOT_A_ROOM:
                return self.tr(
                    "{where} answered HTTP {status}, not a voice room; check the address (it ends in {path})"
                ).format(where=where, status=detail, path=limits.WS_PATH)
            case LinkTrouble.NOT_VOXROOM:
                return self.tr("{where} does not speak the Voxroom protocol ({error})").format(
                    where=where, error=detail
                )
            case LinkTrouble.UNTRUSTED:
                return self.tr(
                    "the certificate of {where} is not trusted ({reason}); if this is your own server, "
                    "install its certificate or its CA"
                ).format(where=where, reason=detail)
            case LinkTrouble.TLS_FAILED:
                return self.tr("the secure connection to {where} failed ({reason})").format(
                    where=where, reason=detail
                )
            case LinkTrouble.JOIN_UNANSWERED:
                return self.tr("{where} did not answer the join within {seconds} s").format(
                    where=where, seconds=seconds
                )
            case LinkTrouble.CLOSED_BEFORE_JOIN:
                return self.tr("{where} closed the connection before the room was joined").format(where=where)
            case LinkTrouble.SERVER_FULL:
                return self.tr("the server is full, try again later")
            case LinkTrouble.JOIN_REFUSED:
                return self.tr("the server refused the join ({code})").format(code=detail)
            case LinkTrouble.LOST:
                return self.tr("the connection was lost")
            case LinkTrouble.PING_TIMEOUT:
                return self.tr("the server stopped answering")
            case LinkTrouble.RESTARTING:
                return self.tr("the server is restarting")
            case LinkTrouble.SUPERSEDED:
                return self.tr("this place was taken over by another connection (joined again elsewhere?)")
            case LinkTrouble.REMOVED:
                if detail:
                    return self.tr("a moderator removed you from the room: {reason}").format(reason=detail)
                return self.tr("a moderator removed you from the room")
            case LinkTrouble.CLOSED:
                if reason.reason:
                    return self.tr("the server closed the connection (code {code}: {reason})").format(
                        code=detail, reason=reason.reason
                    )
                return self.tr("the server closed the connection (code {code})").format(code=detail)
            case _:
                assert_never(reason.trouble)

    def device(self, event: AudioDeviceFailed) -> str:
        """``Audio device problem: … . Using … .`` (only ``message`` when the event carries no codes)."""
        codes = event.codes
        problem, fallback = event.message, event.fallback
        if codes is not None:  # as the engine says it: no fallback when no device opened
            problem = "; ".join(map(self.problem, codes.problems))
            parts = [*map(self.default, codes.on_default), *map(self.none, codes.silent)]
            if not codes.on_default:
                fallback = ""
            elif len(parts) == 1:
                fallback = parts[0]
            else:
                fallback = self.tr("{first} and {second}").format(first=parts[0], second=parts[1])
        return self.tr("Audio device problem: {problem}. Using {fallback}.").format(
            problem=problem, fallback=fallback or self.tr("no audio; chat still works")
        )

    def problem(self, problem: DeviceProblem) -> str:
        name, error = problem.device, problem.detail
        microphone = problem.role is DeviceRole.MICROPHONE
        match problem.trouble:
            case DeviceTrouble.STOPPED:
                return self.tr("the sound device stopped responding")
            case DeviceTrouble.DISCONNECTED:
                said = (
                    self.tr("the microphone “{name}” was disconnected")
                    if microphone
                    else self.tr("the speaker “{name}” was disconnected")
                )
                return said.format(name=name)
            case DeviceTrouble.CANNOT_OPEN if not name:
                said = (
                    self.tr("cannot open the default microphone ({error})")
                    if microphone
                    else self.tr("cannot open the default speaker ({error})")
                )
                return said.format(error=error)
            case DeviceTrouble.CANNOT_OPEN:
                said = (
                    self.tr("cannot open the microphone “{name}” ({error})")
                    if microphone
                    else self.tr("cannot open the speaker “{name}” ({error})")
                )
                return said.format(name=name, error=error)
            case DeviceTrouble.SERVER_GONE:
                return self.tr("the sound system is not answering")
            case _:
                assert_never(problem.trouble)

    def default(self, role: DeviceRole) -> str:
        return (
            self.tr("the default microphone")
            if role is DeviceRole.MICROPHONE
            else self.tr("the default speaker")
        )

    def none(self, role: DeviceRole) -> str:
        return self.tr("no microphone") if role is DeviceRole.MICROPHONE else self.tr("no speaker")


def reason_words(reason: Reason) -> str:
    """Why the connection failed or ended, as a clause (it goes inside a sentence)."""
    return EngineWords().reason(reason)


def removal_words(reason: Reason) -> str:
    """A moderator's kick or ban: only what they wrote, "" for nothing (the sentence says the rest); the
    server's words when it refused a join."""
    if isinstance(reason, LinkProblem) and reason.trouble is LinkTrouble.REMOVED:
        return reason.detail
    return reason_words(reason)


def device_words(event: AudioDeviceFailed) -> str:
    return EngineWords().device(event)
