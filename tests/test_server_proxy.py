"""The real server behind a reverse proxy: whose address its logs and per-address rules see."""

import logging
from typing import Any

import pytest

from signaling_server import ratelimit
from signaling_server.addresses import network
from signaling_server.config import parse_args

from .conftest import ServerFactory
from .wsclient import Client


def test_trust_proxy_is_repeatable() -> None:
    config = parse_args(["--trust-proxy", "127.0.0.1", "--trust-proxy", "fd00::/8"], {})
    assert config.trust_proxy == (network("127.0.0.1"), network("fd00::/8"))
    assert parse_args([], {"VOXROOM_TRUST_PROXY": "10.0.0.0/8 ::1"}).trust_proxy == (
        network("10.0.0.0/8"),
        network("::1"),
    )


def test_trust_proxy_must_be_an_address(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--trust-proxy", "proxy.example"], {})
    assert "--trust-proxy" in capsys.readouterr().err


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted", "untrusted"])
async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(
    make_server: ServerFactory, caplog: pytest.LogCaptureFixture, trusted: bool
) -> None:
    caplog.set_level(logging.INFO, "voxroom.server")
    server = await make_server(password="pw", trust_proxy=(network("127.0.0.1"),) if trusted else ())

    async def attempt(password: str, forwarded_for: str) -> dict[str, Any]:
        client = await Client.open(server.url, additional_headers={"X-Forwarded-For": forwarded_for})
        await client.send({"type": "join", "room": "r", "username": "u", "password": password})
        reply = await client.recv()
        await client.close()
        return reply

    # An attacker spoofs a chain, as a client behind our proxy might: only its last hop counts.
    for _ in range(ratelimit.AUTH_FREE_FAILURES + 1):
        assert (await attempt("guess", "192.0.2.1, 203.0.113.7"))["message"] == "wrong password"
    # Another client behind the same proxy is not held back by the guesser's back-off.
    other = await attempt("pw", "203.0.113.8")
    failures = [r.getMessage() for r in caplog.records if r.getMessage().startswith("auth failed")]
    assert len(failures) == ratelimit.AUTH_FREE_FAILURES + 1
    if trusted:
        assert other["type"] == "joined"
        assert all(line.endswith("addr=203.0.113.7") for line in failures), failures
    else:
        assert (other["code"], other["message"]) == (
            "auth-failed",
            "too many wrong passwords, try again in 1 s",
        )
        assert all(line.endswith("addr=127.0.0.1") for line in failures), failures
