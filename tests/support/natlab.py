"""A small Internet in network namespaces: a public host, and two hosts behind NAT routers.

::

    a 198.18.101.2 ─ .101.1 [ra] 198.18.1.2 ─ 198.18.1.1 ┐
                                                         [inet] 198.18.3.1 ─ 198.18.3.2 pub
    b 198.18.102.2 ─ .102.1 [rb] 198.18.2.2 ─ 198.18.2.1 ┘

Every address is in 198.18.0.0/15 (the benchmarking range) and lives only in
namespaces made here: nothing is added to the machine's own namespace, and no
route anywhere leads out of the range. Hosts route the range to their router,
routers to ``inet``, and ``inet`` sends whatever it has no link for (the
LANs behind the NATs, unused addresses) into a blackhole, which drops
forwarded packets without an ICMP error, as the Internet does: coturn closes
its allocations when a relayed send fails with "network unreachable"
(FIELD-NOTES, "Servers the tests start"). Routers drop unsolicited packets to
themselves silently too. IPv6 is off, so nothing outside the plan is offered
as a candidate.

Each router has a ``Nat`` kind: symmetric (``MASQUERADE --random-fully``: a
new mapping per destination), full cone (source ports kept and unsolicited
UDP forwarded to the one host: endpoint-independent mapping and filtering),
UDP blocked (TCP only, masqueraded). ``isolate_wans`` drops traffic between
the two routers in ``inet``, so only a relay can carry a call between a and b.

Needs root, ``ip``, ``iptables`` and ``sysctl``. Namespaces are named
``vxl-<pid>-<n>-<role>``; leftovers of dead processes are removed on start.
"""

import contextlib
import itertools
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

NAME_PREFIX = "vxl-"
RANGE = "198.18.0.0/15"
COMMAND_TIMEOUT_S = 10.0
_LEFTOVER = re.compile(rf"^{NAME_PREFIX}(\d+)-\d+-\w+$")
_counter = itertools.count()


class Nat(StrEnum):
    SYMMETRIC = "symmetric"
    FULL_CONE = "full-cone"
    UDP_BLOCKED = "udp-blocked"


@dataclass(frozen=True, slots=True)
class Host:
    """A namespace and its address; ``prefix`` runs a command inside it."""

    netns: str
    address: str

    @property
    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns]

    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, *cmd], check=check, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S
        )


@dataclass(frozen=True, slots=True)
class _Site:
    """One NAT router and the host on its LAN."""

    index: int
    nat: Nat

    @property
    def wan(self) -> str:
        return f"198.18.{self.index}.2"

    @property
    def wan_gateway(self) -> str:
        return f"198.18.{self.index}.1"

    @property
    def lan_gateway(self) -> str:
        return f"198.18.{100 + self.index}.1"

    @property
    def host(self) -> str:
        return f"198.18.{100 + self.index}.2"


def missing_tools() -> list[str]:
    """What this machine lacks to build the lab (empty: it can)."""
    missing = [tool for tool in ("ip", "iptables", "sysctl") if shutil.which(tool) is None]
    return (["root"] if os.geteuid() != 0 else []) + missing


class NatLab:
    """The namespaces above, built by ``up`` and removed by ``down`` (idempotent, also after a failed ``up``).

    Args:
        nat_a, nat_b: the kind of NAT in front of host a and host b.
        isolate_wans: drop everything between the two routers' WAN addresses.
    """

    def __init__(self, nat_a: Nat, nat_b: Nat, *, isolate_wans: bool = False) -> None:
        base = f"{NAME_PREFIX}{os.getpid()}-{next(_counter)}-"
        self._sites = (_Site(1, nat_a), _Site(2, nat_b))
        self.isolate_wans = isolate_wans
        self.inet = Host(base + "inet", "")
        self.pub = Host(base + "pub", "198.18.3.2")
        self.routers = (Host(base + "ra", self._sites[0].wan), Host(base + "rb", self._sites[1].wan))
        self.a = Host(base + "a", self._sites[0].host)
        self.b = Host(base + "b", self._sites[1].host)

    @property
    def namespaces(self) -> list[Host]:
        return [self.inet, self.pub, *self.routers, self.a, self.b]

    def up(self) -> None:
        remove_leftovers()
        try:
            for ns in self.namespaces:
                _ip("netns", "add", ns.netns)
                ns.run("ip", "link", "set", "lo", "up")
                ns.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
                ns.run("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
            self._link(self.inet, "pub", "198.18.3.1", self.pub, "eth0", self.pub.address)
            self.pub.run("ip", "route", "add", RANGE, "via", "198.18.3.1")
            for site, router, host in zip(self._sites, self.routers, (self.a, self.b), strict=True):
                self._link(self.inet, f"r{site.index}", site.wan_gateway, router, "wan", site.wan)
                self._link(router, "lan", site.lan_gateway, host, "eth0", site.host)
                router.run("ip", "route", "add", RANGE, "via", site.wan_gateway)
                host.run("ip", "route", "add", RANGE, "via", site.lan_gateway)
                router.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
                self._nat(site, router)
            self.inet.run("sysctl", "-qw", "net.ipv4.ip_forward=1")
            self.inet.run("ip", "route", "add", "blackhole", RANGE)
            if self.isolate_wans:
                wan_a, wan_b = (site.wan for site in self._sites)
                for src, dst in ((wan_a, wan_b), (wan_b, wan_a)):
                    self.inet.run("iptables", "-A", "FORWARD", "-s", src, "-d", dst, "-j", "DROP")
        except BaseException:
            self.down()
            raise

    def drop_from(self, host: Host, protocol: str, port: int) -> None:
        """``host``'s router drops what it sends to ``port`` (``tcp`` or ``udp``): a network's firewall."""
        router = self.routers[[self.a, self.b].index(host)]
        router.run(
            "iptables", "-I", "FORWARD", "-i", "lan", "-p", protocol, "--dport", str(port), "-j", "DROP"
        )

    def down(self) -> None:
        """Delete every namespace (their links and rules go with them). Kill their processes first."""
        for ns in self.namespaces:
            _ip("netns", "del", ns.netns, check=False)

    @staticmethod
    def _link(left: Host, left_if: str, left_ip: str, right: Host, right_if: str, right_ip: str) -> None:
        """A veth pair made directly inside the two namespaces (never in the machine's own)."""
        _ip(
            "-n",
            left.netns,
            "link",
            "add",
            left_if,
            "type",
            "veth",
            "peer",
            "name",
            right_if,
            "netns",
            right.netns,
        )
        for ns, name, address in ((left, left_if, left_ip), (right, right_if, right_ip)):
            ns.run("ip", "addr", "add", f"{address}/24", "dev", name)
            ns.run("ip", "link", "set", name, "up")

    @staticmethod
    def _nat(site: _Site, router: Host) -> None:
        def rule(*args: str) -> None:
            router.run("iptables", *args)

        # Nothing listens on a router: unsolicited packets to it vanish instead of drawing ICMP errors.
        rule("-A", "INPUT", "-i", "wan", "-j", "DROP")
        match site.nat:
            case Nat.SYMMETRIC:
                rule("-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE", "--random-fully")
            case Nat.FULL_CONE:
                # SNAT keeps the source port when it is free: one mapping per host port, whatever the
                # destination; DNAT hands every unsolicited datagram to that port to the one host.
                rule("-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "SNAT", "--to-source", site.wan)
                rule(
                    "-t",
                    "nat",
                    "-A",
                    "PREROUTING",
                    "-i",
                    "wan",
                    "-p",
                    "udp",
                    "-j",
                    "DNAT",
                    "--to-destination",
                    site.host,
                )
            case Nat.UDP_BLOCKED:
                rule("-A", "FORWARD", "-i", "lan", "-p", "udp", "-j", "DROP")
                rule("-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE")


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True, timeout=COMMAND_TIMEOUT_S)


def remove_leftovers() -> None:
    """Delete lab namespaces whose process is gone (a run killed before its clean-up)."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        if (m := _LEFTOVER.match(name)) and not _alive(int(m.group(1))):
            _ip("netns", "del", name, check=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def nat_lab(nat_a: Nat, nat_b: Nat, *, isolate_wans: bool = False) -> Iterator[NatLab]:
    """A lab that is up inside the block and gone after it, whatever happens."""
    lab = NatLab(nat_a, nat_b, isolate_wans=isolate_wans)
    lab.up()
    try:
        yield lab
    finally:
        lab.down()
