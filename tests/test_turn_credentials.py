"""The credentials coturn's use-auth-secret accepts, and which --turn-url forms clients can use."""

import pytest

from signaling_server.turn import Transport, TurnUrl, credentials, parse_turn_url


def test_credentials_match_a_vector_computed_by_hand() -> None:
    """Computed with openssl, apart from our code (coturn itself accepts them in test_turn_check.py).

    ``printf %s 1700086400:p1 | openssl dgst -sha1 -hmac s3cret -binary | base64``
    """
    assert credentials("s3cret", "p1", 1_700_086_400) == ("1700086400:p1", "TgBBooiX3GxIywJ/Cutt61bZBac=")
    assert credentials("north", "turnuser", 1_433_895_918) == (
        "1433895918:turnuser",
        "+EWkBV2whfsqU7GHVTngPxdVht8=",
    )


def test_the_password_depends_on_secret_user_and_expiry() -> None:
    one = credentials("s3cret", "p1", 100)[1]
    assert one != credentials("s3cret", "p1", 101)[1]
    assert one != credentials("s3cret", "p2", 100)[1]
    assert one != credentials("other", "p1", 100)[1]


@pytest.mark.parametrize(
    ("url", "host", "port", "transport"),
    [
        ("turn:turn.example.org:3478", "turn.example.org", 3478, Transport.UDP),
        ("turn:198.51.100.7:3478?transport=udp", "198.51.100.7", 3478, Transport.UDP),
        ("turn:turn.example.org:3478?transport=tcp", "turn.example.org", 3478, Transport.TCP),
        ("turns:turn.example.org:443?transport=tcp", "turn.example.org", 443, Transport.TLS),
        ("turns:turn.example.org:443", "turn.example.org", 443, Transport.TLS),
        ("turn:turn.example.org", "turn.example.org", 3478, Transport.UDP),  # RFC 7065 default ports
        ("turns:turn.example.org", "turn.example.org", 5349, Transport.TLS),
    ],
)
def test_turn_urls_clients_can_use(url: str, host: str, port: int, transport: Transport) -> None:
    assert parse_turn_url(url) == TurnUrl(url, host, port, transport)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("stun:turn.example.org:3478", "must look like turn:HOST:PORT"),
        ("https://turn.example.org", "must look like turn:HOST:PORT"),
        ("TURN:turn.example.org", "must look like turn:HOST:PORT"),
        ("turn:", "has no usable host"),
        ("turn:[2001:db8::1]:3478", "has no usable host"),
        ("turn:user@turn.example.org:3478", "has no usable host"),
        ("turn:turn.example.org:0", "has a port that is not a number from 1 to 65535"),
        ("turn:turn.example.org:65536", "has a port that is not"),
        ("turn:turn.example.org:34x8", "has a port that is not"),
        ("turn:turn.example.org:3478?transport=sctp", "may only end in ?transport=udp or ?transport=tcp"),
        ("turn:turn.example.org:3478?transport=tcp&x=1", "may only end in"),
        ("turns:turn.example.org:443?transport=udp", "asks for DTLS"),
    ],
)
def test_turn_urls_that_would_not_work_are_refused_saying_why(url: str, why: str) -> None:
    with pytest.raises(ValueError, match="^" + why.replace("?", r"\?")):
        parse_turn_url(url)
