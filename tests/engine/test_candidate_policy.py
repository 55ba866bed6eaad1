"""Which remote candidates the engine probes (``candidate_policy.py``): text in, text out."""

import pytest

from client_desktop.engine.candidate_policy import (
    MAX_REMOTE_CANDIDATES,
    CandidateFilter,
    server_is_loopback,
)

STRICT = CandidateFilter(allow_loopback=False)
LOCAL = CandidateFilter(allow_loopback=True)


def candidate(address: str, port: int = 5000, typ: str = "host") -> str:
    return f"candidate:1 1 udp 2130706431 {address} {port} typ {typ}"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "::ffff:127.0.0.1",  # loopback dressed as IPv6
        "169.254.169.254",  # cloud metadata
        "169.254.1.1",
        "fe80::1",
        "0.0.0.0",
        "::",
        "224.0.0.251",
        "ff02::1",
        "255.255.255.255",
        "100.100.100.200",
        "fd00:ec2::254",
        "internal.example.com",  # a name aioice would not resolve; never ours to look up
    ],
)
def test_addresses_a_peer_must_not_make_us_probe(address: str) -> None:
    assert not STRICT.allows_address(address)
    assert not STRICT.allows_candidate(candidate(address))


@pytest.mark.parametrize(
    "address", ["198.18.1.2", "192.168.1.20", "10.0.0.5", "2001:db8::5", "8.8.8.8", "abcd-1234.local"]
)
def test_addresses_of_real_peers_are_kept(address: str) -> None:
    assert STRICT.allows_address(address)
    assert STRICT.allows_candidate(candidate(address))


def test_loopback_is_allowed_only_when_the_server_is_on_loopback_too() -> None:
    assert LOCAL.allows_address("127.0.0.1")
    assert LOCAL.allows_address("::1")
    assert not LOCAL.allows_address("169.254.169.254")
    assert [
        server_is_loopback(h) for h in ("127.0.0.1", "localhost", "::1", "[::1]", "voxroom.example.org")
    ] == [
        True,
        True,
        True,
        True,
        False,
    ]
    assert not server_is_loopback("198.18.3.2")


def test_malformed_candidates_are_refused() -> None:
    assert not STRICT.allows_candidate("candidate:1 1 udp")
    assert not STRICT.allows_candidate("")


def test_the_sdp_loses_refused_candidates_and_keeps_everything_else() -> None:
    sdp = (
        "v=0\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\n"
        "c=IN IP4 0.0.0.0\r\n"
        f"a={candidate('198.18.1.2')}\r\n"
        f"a={candidate('127.0.0.1', 22)}\r\n"
        f"a={candidate('169.254.169.254', 80)}\r\n"
        f"a={candidate('198.18.3.2', 50000, 'relay')}\r\n"
        "a=end-of-candidates\r\n"
    )
    screened, dropped = STRICT.sdp(sdp)
    assert dropped == 2
    assert screened == sdp.replace(f"a={candidate('127.0.0.1', 22)}\r\n", "").replace(
        f"a={candidate('169.254.169.254', 80)}\r\n", ""
    )


def test_at_most_so_many_candidates_are_kept() -> None:
    flood = "".join(f"a={candidate(f'198.18.{i // 250}.{i % 250 + 1}', 1000 + i)}\r\n" for i in range(1000))
    screened, dropped = STRICT.sdp("v=0\r\n" + flood)
    assert screened.count("a=candidate:") == MAX_REMOTE_CANDIDATES
    assert dropped == 1000 - MAX_REMOTE_CANDIDATES
