"""TURN URLs and the short-lived credentials coturn's ``use-auth-secret`` accepts.

coturn's "TURN REST API" (README.turnserver, ``--use-auth-secret``): the
username is ``<unix-expiry>:<user>``, the password base64(HMAC-SHA1(secret,
username)). coturn recomputes the password from the username and its
``static-auth-secret`` and refuses it once the expiry is past, so the server
and the relay share one secret and never a list of users. Pure functions: the
hub and ``--check-turn`` pass the clock in.
"""

import base64
import enum
import hashlib
import hmac
import re
from dataclasses import dataclass

from protocol import IceServer

DEFAULT_TTL_S = 86_400
"""A day: longer than nearly every call; a longer call renews from its next ``joined``."""

URL_FORMS = "turn:HOST:PORT, turn:HOST:PORT?transport=tcp or turns:HOST:PORT?transport=tcp"


class Transport(enum.Enum):
    """How a client reaches the relay: the word ``--check-turn`` prints."""

    UDP = "UDP"
    TCP = "TCP"
    TLS = "TLS"


@dataclass(frozen=True, slots=True)
class TurnUrl:
    """One ``--turn-url``, checked: what clients are given (``url``) and where it points."""

    url: str
    host: str
    port: int
    transport: Transport


_URL = re.compile(r"(?P<scheme>[a-z]+):(?P<host>[^:?]*)(?::(?P<port>[^?]*))?(?:\?(?P<query>.*))?")
_HOST = re.compile(r"[A-Za-z0-9._-]+")


def parse_turn_url(url: str) -> TurnUrl:
    """``url`` as a ``TurnUrl`` if it is one clients (aiortc's parser) and ``--check-turn`` can use.

    The port defaults as RFC 7065 says (3478, 5349 for ``turns:``). IPv6
    literals are refused: aiortc cannot parse them; a host name can have
    AAAA records.

    Raises:
        ValueError: why not, in words that follow the URL ("must look like ...").
    """
    match = _URL.fullmatch(url)
    if match is None or match["scheme"] not in ("turn", "turns"):
        raise ValueError(f"must look like {URL_FORMS}")
    secure = match["scheme"] == "turns"
    host, port_text, query = match["host"], match["port"], match["query"]
    if not host or _HOST.fullmatch(host) is None:
        raise ValueError(f"has no usable host name or IPv4 address (must look like {URL_FORMS})")
    if port_text is None:
        port = 5349 if secure else 3478
    elif not port_text.isdecimal() or not 0 < int(port_text) < 65536:
        raise ValueError(f"has a port that is not a number from 1 to 65535 (must look like {URL_FORMS})")
    else:
        port = int(port_text)
    if query is None:
        transport = Transport.TLS if secure else Transport.UDP
    elif query == "transport=tcp":
        transport = Transport.TLS if secure else Transport.TCP
    elif query == "transport=udp" and not secure:
        transport = Transport.UDP
    elif query == "transport=udp":
        raise ValueError("asks for DTLS, which our clients do not speak: use turns:HOST:PORT?transport=tcp")
    else:
        raise ValueError(f"may only end in ?transport=udp or ?transport=tcp (must look like {URL_FORMS})")
    return TurnUrl(url, host, port, transport)


def credentials(secret: str, user: str, expires: int) -> tuple[str, str]:
    """The (username, password) coturn accepts until unix time ``expires`` for ``user``."""
    username = f"{expires}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def ice_server(urls: tuple[str, ...], secret: str, user: str, now: float, ttl_s: int) -> IceServer:
    """The ``ice_servers`` entry for ``user``: every TURN URL, one credential valid ``ttl_s`` from ``now``."""
    username, password = credentials(secret, user, int(now) + ttl_s)
    return IceServer(urls=list(urls), username=username, credential=password)
