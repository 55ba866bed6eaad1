"""Hosting a room from the app: who may reach the bundled server, and with which password.

"This computer only" listens on 127.0.0.1: nothing on the network can
reach it, so a password is optional. "My network" listens on every IPv4
interface, and then a room never goes without a password: the typed one, or
one made here and shown to the host to pass on (never put in an invite
link). The addresses others can use are the machine's own, read from its
interfaces, not guessed from a route.
"""

import ipaddress
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from .links import RoomLink
from .ui.bridge import Hosted

if TYPE_CHECKING:
    from signaling_server.app import RunningServer

log = logging.getLogger("voxroom.hosting")

LOOPBACK = "127.0.0.1"
ALL_IPV4 = "0.0.0.0"  # noqa: S104 - "my network" means every interface, by the host's choice
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # noqa: S105 - no 0/o, 1/l/i: read aloud, retyped
_PASSWORD_GROUPS = 3
_PASSWORD_GROUP_CHARS = 4


class HostScope(StrEnum):
    """Who can reach a hosted room."""

    THIS_COMPUTER = "this-computer"
    NETWORK = "network"

    @property
    def bind_address(self) -> str:
        return LOOPBACK if self is HostScope.THIS_COMPUTER else ALL_IPV4


@dataclass(frozen=True, slots=True)
class HostChoice:
    """What the form says about hosting; ``password`` ``None`` for an open room (this computer only)."""

    scope: HostScope = HostScope.THIS_COMPUTER
    password: str | None = None


def make_password() -> str:
    """About 59 bits, in groups a person can read out: ``k7pm-q2xa-9dwt``."""
    groups = (
        "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(_PASSWORD_GROUP_CHARS))
        for _ in range(_PASSWORD_GROUPS)
    )
    return "-".join(groups)


def shareable(addresses: Iterable[str]) -> list[str]:
    """The IPv4 addresses others could use: not loopback, not link-local (169.254/16), no repeats."""
    found: list[str] = []
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        usable = not (address.is_loopback or address.is_link_local or address.is_unspecified)
        if address.version == 4 and usable and text not in found:
            found.append(text)
    return found


def network_addresses() -> list[str]:
    """This machine's addresses on interfaces that are up, as others on the network would dial them.

    QtNetwork is imported here, when first asked, not with the app (see ``single_instance``).
    """
    from PySide6.QtNetwork import QAbstractSocket, QNetworkInterface

    texts: list[str] = []
    for interface in QNetworkInterface.allInterfaces():
        flags = interface.flags()
        up = QNetworkInterface.InterfaceFlag.IsUp | QNetworkInterface.InterfaceFlag.IsRunning
        if flags & up != up or flags & QNetworkInterface.InterfaceFlag.IsLoopBack:
            continue
        for entry in interface.addressEntries():
            ip = entry.ip()
            if ip.protocol() is QAbstractSocket.NetworkLayerProtocol.IPv4Protocol:
                texts.append(ip.toString())
    return shareable(texts)


def invite(scope: HostScope, addresses: list[str], port: int, room: str) -> RoomLink:
    """The link to give others (the hosted server has no certificate: ``?tls=0``).

    Raises:
        LinkError: ``room`` is not a room name the protocol allows.
    """
    host = addresses[0] if scope is HostScope.NETWORK and addresses else LOOPBACK
    return RoomLink(host, port, room, tls=False)


class Host:
    """The bundled server, started on first use and kept until the app quits.

    It follows the form: a join with another scope or password restarts it
    (those in the room reconnect and are asked for the new password).
    """

    def __init__(
        self,
        port: int,
        choice: Callable[[], HostChoice],
        addresses: Callable[[], list[str]] = network_addresses,
        data_dir: Path | None = None,
    ) -> None:
        self.port = port
        self._choice = choice
        self._addresses = addresses
        self._data_dir = data_dir or Path(platformdirs.user_data_dir("voxroom")) / "server"
        self.server: RunningServer | None = None
        self.serving: HostChoice | None = None
        self.admin_password = secrets.token_urlsafe(24)
        """Made anew each run and never shown: whoever hosts moderates the room (kick, ban, lock)."""

    async def __call__(self) -> Hosted:
        """Start (or restart) the server; our URL, the address others use, and its admin password."""
        choice = self._choice()
        if self.server is not None and choice != self.serving:
            await self.close()
        if self.server is None:
            # imported here, not at start-up: the window comes first
            from signaling_server.app import start
            from signaling_server.config import ServerConfig

            config = ServerConfig(
                host=choice.scope.bind_address,
                port=self.port,
                data_dir=self._data_dir,
                log_level="warning",
                password=choice.password,
                admin_password=self.admin_password,
            )
            self.server = await start(config)
            self.serving = choice
            log.info("hosting on %s:%d", config.host, self.server.port)
        addresses = self._addresses() if choice.scope is HostScope.NETWORK else []
        shared = f"{addresses[0] if addresses else LOOPBACK}:{self.server.port}"
        return Hosted(self.server.url, shared, self.admin_password)

    async def close(self) -> None:
        if self.server is not None:
            server, self.server, self.serving = self.server, None, None
            await server.close()
