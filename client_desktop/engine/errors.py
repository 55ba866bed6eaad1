"""Why a join failed, as exceptions the owner can catch by kind.

``SignalingError``                   ``code`` is a ``FailureCode``
  ├── ``JoinRefused``       the server said no (``auth-failed``, ``name-taken`` …)
  ├── ``ServerUnreachable`` no connection: refused, unknown host, timeout, not a Voxroom server
  └── ``TlsFailed``         the secure connection failed, usually an untrusted certificate

``AddressRefused`` (a ``ValueError``): the address is no WebSocket address we can use, so nothing
was tried.
"""

from typing import TYPE_CHECKING

from .events import FailureCode

if TYPE_CHECKING:
    from .problems import Reason


class SignalingError(Exception):
    """Could not join; ``message``: ours as a code (``LinkProblem``), or the server's own words."""

    def __init__(self, code: FailureCode, message: "Reason") -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message

    @staticmethod
    def of(code: FailureCode, message: "Reason") -> "SignalingError":
        """The exception of the right kind for ``code``."""
        if code is FailureCode.UNREACHABLE:
            return ServerUnreachable(message)
        if code is FailureCode.TLS:
            return TlsFailed(message)
        if code is FailureCode.INTERNAL:
            return SignalingError(code, message)
        return JoinRefused(code, message)


class AddressRefused(ValueError):  # noqa: N818
    """The server address cannot be used (a user name in it, say); ``address`` as it was given."""

    def __init__(self, address: str) -> None:
        super().__init__(f"not a WebSocket address (ws://… or wss://…): {address}")
        self.address = address


class JoinRefused(SignalingError):  # noqa: N818 - named like websockets' ConnectionClosed
    """The server refused the ``join``."""


class ServerUnreachable(SignalingError):  # noqa: N818
    def __init__(self, message: "Reason") -> None:
        super().__init__(FailureCode.UNREACHABLE, message)


class TlsFailed(SignalingError):  # noqa: N818
    def __init__(self, message: "Reason") -> None:
        super().__init__(FailureCode.TLS, message)
