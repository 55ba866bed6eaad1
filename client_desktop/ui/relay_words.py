"""No relay works, said in the person's language: the engine gives a code and its parameters per URL.

The engine imports no Qt, so its ``RelayUnusable`` carries no sentence;
what the relay or the system said (an error reason, a TLS verifier's
message) stays as it was said, inside the translated words. A ``QObject``
only so that lupdate reads the plural (it takes ``%n`` from ``self.tr``
alone); one address is said apart so English needs no catalogue of its own.
"""

from typing import assert_never

from PySide6.QtCore import QLocale, QObject

from ..engine.events import RelayFailure, RelayTrouble, RelayUnusable


class RelayWords(QObject):
    def unusable(self, event: RelayUnusable) -> str:
        """``No relay server works, so … . URL: why; URL: why.``"""
        count = len(event.failures)
        if count == 1:
            head = self.tr(
                "No relay server works, so calls through strict NATs or firewalls will not connect."
            )
        else:
            head = self.tr(
                "None of the %n relay server addresses works, so calls through strict NATs or firewalls "
                "will not connect.",
                "",
                count,
            )
        reasons = "; ".join(f"{failure.url}: {self.failure(failure)}" for failure in event.failures)
        return f"{head} {reasons}."

    def failure(self, failure: RelayFailure) -> str:
        """Why one URL gave no relay."""
        match failure.trouble:
            case RelayTrouble.CREDENTIALS_REFUSED:
                return self.tr(
                    "it refused our credentials (the Voxroom server's TURN secret is not the relay's)"
                )
            case RelayTrouble.REFUSED:
                return self.tr("it refused a relay ({answer})").format(answer=failure.detail)
            case RelayTrouble.NO_ANSWER:
                return self.tr("no answer within {seconds} s (blocked on this network, or down)").format(
                    seconds=QLocale().toString(failure.waited_s, "g", 3)
                )
            case RelayTrouble.UNTRUSTED:
                return self.tr("its TLS certificate is not trusted ({reason})").format(reason=failure.detail)
            case RelayTrouble.CONNECTION_REFUSED:
                return self.tr("nothing listens there (connection refused)")
            case RelayTrouble.UNREACHABLE:
                return self.tr("cannot reach it ({error})").format(error=failure.detail)
            case _:
                assert_never(failure.trouble)


def relay_words(event: RelayUnusable) -> str:
    return RelayWords().unusable(event)
