"""``voxroom-server --check-turn`` against a real coturn on 127.0.0.1: what works, and why not, in words."""

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from signaling_server.check_turn import Outcome, check_all, exit_code, report, run
from signaling_server.config import ServerConfig
from signaling_server.turn import Transport, parse_turn_url

from .support.coturn import Coturn

REPO = Path(__file__).resolve().parent.parent
SECRET = "c0turn-s3cret"
WORKS = re.compile(r"(UDP|TCP|TLS) (turns?:\S+): works, relayed through 127\.0\.0\.1:\d+ in \d+ ms")


@dataclass
class Relay:
    turn: Coturn
    ca_file: Path

    def config(self, secret: str = SECRET) -> ServerConfig:
        return ServerConfig(turn_urls=tuple(self.turn.urls), turn_secret=secret)


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[Relay]:
    """coturn on UDP, TCP and TLS, its certificate from a CA only ``ca_file`` trusts."""
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    with Coturn(tmp_path, secret=SECRET, cert=cert, key=key) as turn:
        yield Relay(turn, ca_file)


def _check_turn(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "signaling_server", "--check-turn", *args]
    return subprocess.run(
        command, cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )


def test_every_transport_relays_and_the_command_says_so(relay: Relay, tmp_path: Path) -> None:
    """As an operator runs it: the URLs from the config file, the secret from the environment."""
    urls = ", ".join(f'"{url}"' for url in relay.turn.urls)
    config = tmp_path / "voxroom.toml"
    config.write_text(f"turn-url = [{urls}]\n")
    env = {"VOXROOM_TURN_SECRET": SECRET, "SSL_CERT_FILE": str(relay.ca_file)}
    done = _check_turn("--config", str(config), env=env)
    lines = done.stdout.splitlines()
    assert [WORKS.fullmatch(line) is not None for line in lines] == [True] * 3, done.stdout + done.stderr
    assert [(m.group(1), m.group(2)) for m in map(WORKS.fullmatch, lines) if m] == [
        ("UDP", relay.turn.urls[0]),
        ("TCP", relay.turn.urls[1]),
        ("TLS", relay.turn.urls[2]),
    ]
    assert done.returncode == 0
    assert "allocation" not in done.stderr  # aioice's INFO lines stay out of the operator's way


def test_a_wrong_secret_says_so_and_exits_1(relay: Relay) -> None:
    args = [arg for url in relay.turn.urls for arg in ("--turn-url", url)]
    done = _check_turn(*args, "--turn-secret", "not-the-secret", env={"SSL_CERT_FILE": str(relay.ca_file)})
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    for line, transport in zip(lines, ("UDP", "TCP", "TLS"), strict=True):
        assert line.startswith(f"{transport} turn")
        assert line.endswith(
            ": coturn refused the credentials: --turn-secret is not its static-auth-secret (401 Unauthorized)"
        ), line


async def test_a_stopped_coturn_is_unreachable(relay: Relay, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(relay.ca_file))
    relay.turn.stop()
    outcomes = await check_all(relay.config(), time.time(), timeout_s=1.5)
    udp, tcp, tls = (o.problem or "" for o in outcomes)
    port = relay.turn.port
    assert udp.startswith(f"unreachable: no answer from 127.0.0.1:{port} over UDP within 1.5 s"), udp
    refused = "refused the connection (coturn is not running or not listening there)"
    assert tcp == f"unreachable: 127.0.0.1:{port} {refused}"
    assert tls.startswith(f"unreachable: 127.0.0.1:{relay.turn.tls_port} refused the connection"), tls
    assert [o.relay for o in outcomes] == [None] * 3
    assert all(1.4 < o.elapsed_s < 3 for o in outcomes[:1])  # bounded: the UDP wait ends at the timeout
    assert exit_code(outcomes) == 1


async def test_an_untrusted_tls_certificate_is_named_and_the_rest_still_works(
    relay: Relay, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)  # the system's CAs only: trustme's is not among them
    udp, tcp, tls = await check_all(relay.config(), time.time())
    assert (udp.problem, tcp.problem) == (None, None)
    assert tls.problem is not None
    assert tls.problem.startswith(f"the TLS certificate of 127.0.0.1:{relay.turn.tls_port} is not trusted: ")
    assert tls.relay is None
    assert exit_code([udp, tcp, tls]) == 1


async def test_a_relay_that_refuses_peers_is_caught_after_the_allocation(tmp_path: Path) -> None:
    """denied-peer-ip over the relay's own address: allocation works, relaying does not (403)."""
    denied = ["denied-peer-ip=127.0.0.0-127.255.255.255"]
    with Coturn(tmp_path, secret=SECRET, extra=denied) as turn:
        config = ServerConfig(turn_urls=tuple(turn.urls), turn_secret=SECRET)
        outcomes = await check_all(config, time.time())
    for outcome in outcomes:
        assert outcome.relay is not None
        assert outcome.problem is not None
        assert outcome.problem.startswith(
            f"coturn allocated 127.0.0.1:{outcome.relay[1]} but refused to relay"
        )
        assert "(403 Forbidden IP)" in outcome.problem


def test_the_lines_and_the_exit_code() -> None:
    udp = parse_turn_url("turn:turn.example.org:3478")
    tls = parse_turn_url("turns:turn.example.org:443?transport=tcp")
    assert tls.transport is Transport.TLS
    works = Outcome(udp, ("203.0.113.5", 49152), 0.0123)
    fails = Outcome(tls, None, 5.0, "unreachable: why")
    assert (
        report(works) == "UDP turn:turn.example.org:3478: works, relayed through 203.0.113.5:49152 in 12 ms"
    )
    assert (
        report(fails)
        == "TLS turns:turn.example.org:443?transport=tcp: does NOT work (5000 ms): unreachable: why"
    )
    assert (exit_code([works]), exit_code([works, fails]), exit_code([])) == (0, 1, 1)


def test_nothing_to_check_without_turn_urls(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ServerConfig()) == 1
    assert capsys.readouterr().out.startswith("nothing to check: no --turn-url is configured")
