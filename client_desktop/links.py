"""``voxroom://HOST:PORT/ROOM`` links: what an invitation carries, and nothing more.

A link names a server and a room. It never carries a name or a password:
a link travels through chats and mail, so a password in it would be a
password in everyone's history (the app asks for it in the form instead).

TLS is the default: ``voxroom://voice.example.org/lobby`` means
``wss://voice.example.org:443/ws``, because a link to a public server must
not silently send a typed password in the clear. A server without a
certificate (the one the app hosts on a home network) is reached with
``?tls=0``: ``ws://``, port 8765 when none is given. One scheme with an
explicit downgrade, rather than a second scheme, keeps one desktop handler
(``x-scheme-handler/voxroom``) and makes the insecure case visible in the link.

Links come from strangers, so parsing is strict: anything this module does
not understand is refused with a sentence saying why, never guessed at.
The sentences go through Qt's catalogue: in the app's language once it has
installed one, in English on the command line before that.
"""

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from PySide6.QtCore import QCoreApplication

from protocol import limits

SCHEME = "voxroom"
MAX_LINK_CHARS = 2048
TLS_PORT = 443
_LINK = re.compile(r"(?i:voxroom)://(?P<authority>[^/?#]*)(?P<path>/[^?#]*)?(?:\?(?P<query>[^#]*))?\Z")
_HOST_PORT = re.compile(r"(?:\[(?P<v6>[^\]]*)\]|(?P<name>[^:\[\]]*))(?::(?P<port>[^:]*))?\Z")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
_DIGITS = re.compile(r"[0-9]{1,5}\Z")


class LinkError(ValueError):
    """A link that cannot be used; the message says why in plain words."""


def room_problem(room: str) -> str | None:
    """The protocol's rule for room names, said plainly; ``None`` when ``room`` follows it."""
    if not re.match(limits.ROOM_PATTERN, room):
        return QCoreApplication.translate(
            "Links", "Room names use letters, digits, '.', '_' or '-' (1-{count})."
        ).format(count=limits.MAX_ROOM_CHARS)
    return None


@dataclass(frozen=True, slots=True)
class RoomLink:
    """Where a link leads. ``host`` is a lower-case DNS name (ASCII), an IPv4 or a bare IPv6 address."""

    host: str
    port: int
    room: str
    tls: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise LinkError(QCoreApplication.translate("Links", "The port must be a number from 1 to 65535."))
        if problem := room_problem(self.room):
            raise LinkError(problem)

    @property
    def _netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def server_url(self) -> str:
        """The WebSocket URL the engine connects to."""
        return f"{'wss' if self.tls else 'ws'}://{self._netloc}{limits.WS_PATH}"

    def __str__(self) -> str:
        """The link itself, port always written, so it reads the same wherever it is pasted."""
        return f"{SCHEME}://{self._netloc}/{quote(self.room, safe='')}" + ("" if self.tls else "?tls=0")


def looks_like_link(text: str) -> bool:
    """Whether a command-line argument is meant as a link (then it must parse, or the app says why)."""
    return text.strip().lower().startswith(f"{SCHEME}:")


def parse_link(text: str) -> RoomLink:
    """Read a link someone sent.

    Raises:
        LinkError: it is not a Voxroom link, carries credentials or unknown
            parameters, or names a host, port or room that cannot be used.
    """
    text = text.strip()
    if len(text) > MAX_LINK_CHARS:
        raise LinkError(
            QCoreApplication.translate("Links", "This link is too long to be a Voxroom invitation.")
        )
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise LinkError(
            QCoreApplication.translate(
                "Links", "A Voxroom link has no spaces or control characters (a room's name is %-encoded)."
            )
        )
    match = _LINK.match(text)
    if match is None:
        raise LinkError(
            QCoreApplication.translate("Links", "Not a Voxroom link: it should look like {example}.").format(
                example=f"{SCHEME}://HOST:PORT/ROOM"
            )
        )
    authority = match["authority"]
    if "@" in authority:
        raise LinkError(
            QCoreApplication.translate(
                "Links", "This link carries a name or password; Voxroom links never do. Ask for a new one."
            )
        )
    tls = _tls(match["query"])
    host, port = _host_port(authority, TLS_PORT if tls else limits.DEFAULT_PORT)
    return RoomLink(host, port, _room(match["path"] or ""), tls)


def _tls(query: str | None) -> bool:
    if not query:
        return True
    if query == "tls=0":
        return False
    if query == "tls=1":
        return True
    raise LinkError(
        QCoreApplication.translate(
            "Links", "This link has settings Voxroom does not know (only ?tls=0 is allowed)."
        )
    )


def _host_port(authority: str, default_port: int) -> tuple[str, int]:
    match = _HOST_PORT.match(authority)
    if match is None:
        raise LinkError(QCoreApplication.translate("Links", "The link's server address cannot be read."))
    port = default_port
    if match["port"] is not None:
        if not _DIGITS.match(match["port"]) or not 1 <= int(match["port"]) <= 65535:
            raise LinkError(
                QCoreApplication.translate("Links", "The port in the link must be a number from 1 to 65535.")
            )
        port = int(match["port"])
    if match["v6"] is not None:
        if "%" in match["v6"]:  # a zone (fe80::1%eth0) means something only on the sender's machine
            raise LinkError(
                QCoreApplication.translate(
                    "Links", "The link's IPv6 address is not valid here (it names a network interface)."
                )
            )
        try:
            return str(ipaddress.IPv6Address(match["v6"])), port
        except ValueError:
            raise LinkError(
                QCoreApplication.translate("Links", "The link's IPv6 address is not valid.")
            ) from None
    return _host_name(match["name"]), port


def _host_name(name: str) -> str:
    """An IPv4 address or a DNS name (Unicode names in their ASCII form); nothing percent-encoded."""
    if not name:
        raise LinkError(QCoreApplication.translate("Links", "The link names no server."))
    try:
        return str(ipaddress.IPv4Address(name))
    except ValueError:
        pass
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise LinkError(QCoreApplication.translate("Links", "The link's server name is not valid.")) from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise LinkError(QCoreApplication.translate("Links", "The link's server name is not valid."))
    return ascii_name


def _room(path: str) -> str:
    encoded = path.removeprefix("/").removesuffix("/")
    if not encoded:
        raise LinkError(QCoreApplication.translate("Links", "The link names no room."))
    if "/" in encoded:
        raise LinkError(
            QCoreApplication.translate("Links", "A Voxroom link names one room: voxroom://HOST:PORT/ROOM.")
        )
    try:
        room = unquote(encoded, errors="strict")
    except UnicodeDecodeError:
        raise LinkError(
            QCoreApplication.translate("Links", "The link's room name is not valid text.")
        ) from None
    if problem := room_problem(room):
        raise LinkError(
            QCoreApplication.translate("Links", "The link's room {room} cannot be used. {problem}").format(
                room=repr(room), problem=problem
            )
        )
    return room
