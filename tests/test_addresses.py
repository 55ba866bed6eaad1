"""The client's address behind trusted proxies: X-Forwarded-For is believed only as far as they go."""

import pytest

from signaling_server.addresses import client_address, network

PROXY = (network("10.0.0.1"),)
PROXIES = (network("10.0.0.0/8"), network("2001:db8:f::/48"))


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_address("10.0.0.1", ["203.0.113.7"], ()) == "10.0.0.1"


def test_a_spoofed_header_from_an_untrusted_peer_is_ignored() -> None:
    assert client_address("198.51.100.9", ["203.0.113.7"], PROXY) == "198.51.100.9"


def test_a_trusted_proxy_names_the_client() -> None:
    assert client_address("10.0.0.1", ["203.0.113.7"], PROXY) == "203.0.113.7"


def test_the_right_most_untrusted_address_is_the_client() -> None:
    # The client sent "192.0.2.66" itself; our proxy appended the address it saw.
    assert client_address("10.0.0.1", ["192.0.2.66, 203.0.113.7"], PROXY) == "203.0.113.7"


def test_a_chain_of_trusted_proxies_is_walked_back() -> None:
    chain = ["192.0.2.66, 203.0.113.7, 10.2.0.5", "10.1.0.9"]  # two headers: one list, in order
    assert client_address("10.0.0.1", chain, PROXIES) == "203.0.113.7"


def test_a_chain_of_only_trusted_addresses_gives_the_left_most() -> None:
    assert client_address("10.0.0.1", ["10.3.0.1, 10.2.0.1"], PROXIES) == "10.3.0.1"


def test_no_header_from_a_trusted_proxy_leaves_the_proxy() -> None:
    assert client_address("10.0.0.1", [], PROXY) == "10.0.0.1"


def test_ipv6_proxies_and_clients() -> None:
    assert client_address("2001:db8:f::2", ["2001:db8:1::7"], PROXIES) == "2001:db8:1::7"
    assert client_address("2001:db8:e::2", ["2001:db8:1::7"], PROXIES) == "2001:db8:e::2"
    assert client_address("10.0.0.1", [" 2001:DB8:1:0::7 "], PROXY) == "2001:db8:1::7"  # one spelling


def test_a_dual_stack_socket_s_mapped_address_is_its_ipv4_one() -> None:
    assert client_address("::ffff:10.0.0.1", ["203.0.113.7"], PROXY) == "203.0.113.7"


@pytest.mark.parametrize(
    "header",
    ["", "unknown", "203.0.113.7:4711", "203.0.113.7;evil", "203.0.113.7,", "300.1.2.3", "_hidden"],
)
def test_a_header_that_cannot_be_read_gives_the_peer(header: str) -> None:
    assert client_address("10.0.0.1", [header], PROXY) == "10.0.0.1"


def test_garbage_left_of_the_client_does_not_matter() -> None:
    assert client_address("10.0.0.1", ["<script>, 203.0.113.7"], PROXY) == "203.0.113.7"


@pytest.mark.parametrize(("text", "expected"), [("10.0.0.1", "10.0.0.1/32"), ("10.1.2.3/8", "10.0.0.0/8")])
def test_a_trusted_proxy_is_an_address_or_a_network(text: str, expected: str) -> None:
    assert str(network(text)) == expected


def test_a_trusted_proxy_must_be_an_address() -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        network("proxy.example")
