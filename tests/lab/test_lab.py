"""The NAT lab does what its cases rely on: each kind of NAT maps and filters as named, and nothing leaks."""

import subprocess

from ..support.natlab import Nat, nat_lab
from .conftest import ask, serving

PORTS = (7001, 7002)


def test_a_symmetric_nat_maps_each_destination_to_its_own_port() -> None:
    with nat_lab(Nat.SYMMETRIC, Nat.SYMMETRIC) as lab, serving(lab.pub, *PORTS):
        first, second = ask(lab.a, "udp", lab.pub.address, *PORTS)
        wan = lab.routers[0].address
        assert [first.split(":")[0], second.split(":")[0]] == [wan, wan]
        assert first != second  # endpoint-dependent mapping: ICE's reflexive candidate is useless
        assert ask(lab.b, "tcp", lab.pub.address, PORTS[0])[0].startswith(f"{lab.routers[1].address}:")


def test_a_full_cone_nat_keeps_one_mapping_and_lets_anyone_in() -> None:
    with nat_lab(Nat.FULL_CONE, Nat.SYMMETRIC) as lab:
        with serving(lab.pub, *PORTS):
            first, second = ask(lab.a, "udp", lab.pub.address, *PORTS)
        assert first == second, (first, second)  # endpoint-independent mapping
        assert first.startswith(f"{lab.routers[0].address}:")
        with serving(lab.a, PORTS[0]):  # unsolicited, from a host a never wrote to
            seen = ask(lab.b, "udp", lab.routers[0].address, PORTS[0])
        assert seen[0].startswith(f"{lab.routers[1].address}:"), seen


def test_udp_blocked_drops_udp_and_passes_tcp() -> None:
    with nat_lab(Nat.UDP_BLOCKED, Nat.FULL_CONE) as lab, serving(lab.pub, *PORTS):
        assert ask(lab.a, "udp", lab.pub.address, PORTS[0]) == ["timeout"]
        assert ask(lab.a, "tcp", lab.pub.address, PORTS[0])[0].startswith(f"{lab.routers[0].address}:")
        assert ask(lab.b, "udp", lab.pub.address, PORTS[0])[0].startswith(f"{lab.routers[1].address}:")


def test_isolated_wans_cannot_reach_each_other_but_reach_pub() -> None:
    with nat_lab(Nat.FULL_CONE, Nat.FULL_CONE, isolate_wans=True) as lab:
        with serving(lab.b, PORTS[0]):
            assert ask(lab.a, "udp", lab.routers[1].address, PORTS[0]) == ["timeout"]
        with serving(lab.pub, PORTS[0]):
            assert ask(lab.a, "udp", lab.pub.address, PORTS[0])[0].startswith(f"{lab.routers[0].address}:")


def test_unused_and_private_addresses_swallow_datagrams_without_an_error() -> None:
    """coturn closes allocations on "network unreachable": the lab's Internet must stay silent."""
    with nat_lab(Nat.SYMMETRIC, Nat.SYMMETRIC) as lab:
        unused, private = "198.18.200.9", lab.a.address
        assert ask(lab.pub, "udp", unused, PORTS[0]) == ["timeout"]
        assert ask(lab.pub, "udp", private, PORTS[0]) == ["timeout"]
        assert ask(lab.pub, "udp", lab.routers[0].address, PORTS[0]) == ["timeout"]  # a router, nobody home
        assert ask(lab.a, "udp", unused, PORTS[0]) == ["timeout"]


def test_the_lab_leaves_nothing_behind() -> None:
    with nat_lab(Nat.SYMMETRIC, Nat.UDP_BLOCKED) as lab:
        names = {ns.netns for ns in lab.namespaces}
        assert names <= _namespaces()
    assert not names & _namespaces()


def _namespaces() -> set[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in listing.splitlines() if line.strip()}
