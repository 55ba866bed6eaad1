"""The engine's choice of TURN server: the pure rules, then real allocations from a private coturn.

aiortc alone would use only the first TURN URL; ``RelayChoice`` allocates
through each and keeps the first that works, in the server's order.
"""

import asyncio
import base64
import gc
import hashlib
import hmac
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from client_desktop.engine.call_stats import TransportProtocol
from client_desktop.engine.events import RelayFailure, RelayTrouble, RelayUnusable
from client_desktop.engine.relays import (
    PENDING,
    Probed,
    RelayChoice,
    TurnUrl,
    choose,
    next_look_s,
    patience_s,
    probe,
    rtc_ice_servers,
    turn_urls,
)
from protocol import IceServer

from ..support.coturn import Coturn
from ..support.ports import free_port

SECRET = "lab-secret"


def credentials(secret: str = SECRET) -> tuple[str, str]:
    """coturn's use-auth-secret scheme, as the server hands them out."""
    username = f"{int(time.time()) + 3600}:tester"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def turn_server(urls: list[str], secret: str = SECRET) -> IceServer:
    username, credential = credentials(secret)
    return IceServer(urls=urls, username=username, credential=credential)


U, T, S = (
    TurnUrl("turn:r:3478", "r", 3478, TransportProtocol.UDP, "u", "c"),
    TurnUrl("turn:r:3478?transport=tcp", "r", 3478, TransportProtocol.TCP, "u", "c"),
    TurnUrl("turns:r:443?transport=tcp", "r", 443, TransportProtocol.TLS, "u", "c"),
)


# --- the rules -----------------------------------------------------------------------------


def test_turn_urls_keep_the_servers_order_and_leave_out_what_aiortc_cannot_use() -> None:
    servers = [
        IceServer(urls=["stun:s:3478"]),
        IceServer(
            urls=[
                "turn:r:3478",
                "turn:r:3478?transport=tcp",
                "turns:r:443?transport=tcp",
                "turns:r:443?transport=udp",  # TURN over DTLS: not in aiortc
                "turn:r:3478?transport=sctp",
                "nonsense",
            ],
            username="u",
            credential="c",
        ),
    ]
    assert turn_urls(servers) == [U, T, S]


def test_the_first_url_that_works_is_chosen_once_every_earlier_one_failed() -> None:
    urls = [U, T, S]
    blocked = RelayFailure(str(U), RelayTrouble.NO_ANSWER, waited_s=2.5)
    refused = RelayFailure(str(T), RelayTrouble.REFUSED, "403 Forbidden IP")
    untrusted = RelayFailure(str(S), RelayTrouble.UNTRUSTED, "self-signed certificate")
    assert choose(urls, {}, 0.1) is PENDING
    assert choose(urls, {U: Probed(None, 0.05)}, 0.05) == U  # no need to wait for the others
    assert choose(urls, {U: Probed(blocked, 2.5), T: Probed(None, 0.1)}, 2.5) == T
    assert choose(urls, {U: Probed(blocked, 2.5), T: Probed(refused, 0.1), S: Probed(None, 0.2)}, 2.5) == S
    failed = {U: Probed(blocked, 2.5), T: Probed(refused, 0.1), S: Probed(untrusted, 0.2)}
    assert choose(urls, failed, 2.5) is None
    assert choose([], {}, 0.0) is None


def test_a_silent_earlier_url_is_waited_for_only_so_long_after_a_later_one_worked() -> None:
    urls = [U, T, S]
    tcp_worked = {T: Probed(None, 0.1)}
    assert patience_s(0.1) == 0.35  # at least 0.25 s more
    assert patience_s(1.0) == 2.0  # twice as long
    assert choose(urls, tcp_worked, 0.2) is PENDING  # UDP may still answer, and it comes first
    assert next_look_s(urls, tcp_worked) == 0.35
    assert choose(urls, tcp_worked, 0.35) == T
    assert choose(urls, {U: Probed(None, 0.3), **tcp_worked}, 0.3) == U  # UDP in time: still first
    refused = Probed(RelayFailure(str(U), RelayTrouble.CONNECTION_REFUSED), 0.1)
    assert next_look_s(urls, {U: refused}) is None  # nothing worked: wait for results


def test_a_failure_is_a_code_with_its_parameters_and_only_no_answer_is_silent() -> None:
    blocked = RelayFailure(str(U), RelayTrouble.NO_ANSWER, waited_s=2.5)
    refused = RelayFailure(str(T), RelayTrouble.REFUSED, "403 Forbidden IP")
    assert (str(blocked), blocked.silent) == ("turn:r:3478 (UDP): no-answer (2.5 s)", True)
    assert (str(refused), refused.silent) == (
        "turn:r:3478?transport=tcp (TCP): refused (403 Forbidden IP)",
        False,
    )


def test_aiortc_gets_every_stun_url_and_only_the_chosen_turn_url() -> None:
    servers = [
        IceServer(urls=["stun:s:3478"]),
        IceServer(urls=["turn:r:3478", "turn:r:3478?transport=tcp"], username="u", credential="c"),
    ]
    with_relay = rtc_ice_servers(servers, T)
    assert [(s.urls, s.username, s.credential) for s in with_relay] == [
        (["stun:s:3478"], None, None),
        ("turn:r:3478?transport=tcp", "u", "c"),
    ]
    assert [s.urls for s in rtc_ice_servers(servers, None)] == [["stun:s:3478"]]


def test_a_stun_url_where_udp_turn_got_no_answer_is_left_out() -> None:
    servers = [IceServer(urls=["stun:r:3478", "stun:other:3478"])]
    assert [s.urls for s in rtc_ice_servers(servers, T, frozenset({("r", 3478)}))] == [
        ["stun:other:3478"],
        "turn:r:3478?transport=tcp",
    ]


# --- real allocations ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def coturn(tmp_path: Path, ca: trustme.CA) -> Iterator[Coturn]:
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(tmp_path / "turn.pem")
    with Coturn(tmp_path, secret=SECRET, cert=tmp_path / "turn.pem", key=tmp_path / "turn.pem") as server:
        yield server


@pytest.fixture
def trusted(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Our TLS connections trust the test's CA, as a system that installed it would."""
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))


@pytest.mark.usefixtures("trusted")
async def test_a_relay_is_allocated_over_udp_tcp_and_tls(coturn: Coturn) -> None:
    urls = turn_urls([turn_server(coturn.urls)])
    assert [u.transport for u in urls] == list(TransportProtocol)  # UDP, TCP, TLS in that order
    assert [await probe(url) for url in urls] == [None, None, None]


async def test_wrong_credentials_are_told_apart(coturn: Coturn) -> None:
    (url, *_) = turn_urls([turn_server(coturn.urls, secret="not-the-secret")])
    assert await probe(url) == RelayFailure(str(url), RelayTrouble.CREDENTIALS_REFUSED)


# asyncio (3.11) closes the socket of an aborted TLS handshake a turn of the loop later; the app's loop runs
# on and closes it, but this test's loop would end first and leave it to the garbage collector, which then
# warns in a later test's phase (a set-up failed so in CI)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_an_untrusted_certificate_is_told_with_the_verifier_s_reason(coturn: Coturn) -> None:
    tls = turn_urls([turn_server(coturn.urls)])[2]
    error = await probe(tls)
    assert error is not None
    assert (error.url, error.trouble) == (f"{coturn.urls[2]} (TLS)", RelayTrouble.UNTRUSTED), error
    assert "certificate" in error.detail, error
    await asyncio.sleep(0.05)  # the loop closes the aborted handshake's socket
    gc.collect()


async def test_nothing_listening_is_told_apart_from_no_answer() -> None:
    port = free_port()
    udp, tcp = turn_urls([turn_server([f"turn:127.0.0.1:{port}", f"turn:127.0.0.1:{port}?transport=tcp"])])
    assert await probe(tcp) == RelayFailure(str(tcp), RelayTrouble.CONNECTION_REFUSED)
    udp_error = await probe(udp, timeout_s=0.5)
    assert udp_error is not None
    assert udp_error.trouble in (RelayTrouble.NO_ANSWER, RelayTrouble.UNREACHABLE), udp_error
    if udp_error.silent:
        assert udp_error.waited_s == 0.5


async def test_the_choice_skips_a_dead_url_and_keeps_the_servers_order(coturn: Coturn) -> None:
    dead = f"turn:127.0.0.1:{free_port()}?transport=tcp"
    notices: list[RelayUnusable] = []
    choice = RelayChoice([turn_server([dead, *coturn.urls[:2]])], notices.append)
    servers = await choice.ice_servers()
    assert choice.chosen is not None
    assert (choice.chosen.url, choice.chosen.transport) == (coturn.urls[0], TransportProtocol.UDP)
    assert [s.urls for s in servers] == [coturn.urls[0]]
    assert notices == []
    choice.close()


async def test_when_no_relay_works_the_owner_hears_why_and_calls_go_on_without_one(coturn: Coturn) -> None:
    notices: list[RelayUnusable] = []
    choice = RelayChoice(
        [IceServer(urls=["stun:127.0.0.1:3478"]), turn_server(coturn.urls[:2], secret="wrong")],
        notices.append,
    )
    servers = await choice.ice_servers()
    assert choice.chosen is None
    assert [s.urls for s in servers] == [["stun:127.0.0.1:3478"]]
    assert notices == [
        RelayUnusable(
            (
                RelayFailure(f"{coturn.urls[0]} (UDP)", RelayTrouble.CREDENTIALS_REFUSED),
                RelayFailure(f"{coturn.urls[1]} (TCP)", RelayTrouble.CREDENTIALS_REFUSED),
            )
        )
    ]
    assert str(notices[0]) == (  # what the bot and the log say: codes, no sentence
        f"no TURN URL gave a relay: {coturn.urls[0]} (UDP): credentials-refused; "
        f"{coturn.urls[1]} (TCP): credentials-refused"
    )
    choice.close()


async def test_where_udp_gets_no_answer_stun_is_left_out_and_tcp_chosen(coturn: Coturn) -> None:
    """A network that drops UDP: a STUN URL there would make every new connection wait 5 s."""
    dead = free_port()
    servers = [
        IceServer(urls=[f"stun:127.0.0.1:{dead}", f"stun:{coturn.listen_ip}:{coturn.port}"]),
        turn_server([f"turn:127.0.0.1:{dead}", coturn.urls[1]]),
    ]
    choice = RelayChoice(servers, lambda _: None, timeout_s=0.5)
    assert [s.urls for s in await choice.ice_servers()] == [
        [f"stun:{coturn.listen_ip}:{coturn.port}"],
        coturn.urls[1],
    ]
    choice.close()


async def test_where_udp_does_not_answer_in_time_tcp_is_chosen_without_waiting_out_the_timeout(
    coturn: Coturn,
) -> None:
    dead = free_port()
    servers = [
        IceServer(urls=[f"stun:127.0.0.1:{dead}"]),
        turn_server([f"turn:127.0.0.1:{dead}", coturn.urls[1]]),
    ]
    choice = RelayChoice(servers, lambda _: None, timeout_s=30.0)
    async with asyncio.timeout(5.0):  # far below the probe's own 30 s
        configuration = await choice.ice_servers()
    assert [s.urls for s in configuration] == [coturn.urls[1]]  # and the silent STUN URL is gone too
    choice.close()
