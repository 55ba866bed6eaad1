"""Calls across NATs: through coturn where they must, directly where they can, back after the relay restarts.

Each case runs two ``voxroom-bot`` processes in the lab's hosts a (440 Hz)
and b (660 Hz), checks by FFT that each heard the other, and reads the path
each reports (``client_desktop.bot_output.PATH_LINE``).
"""

import asyncio
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..engine.audio import peaks_hz
from ..support.natlab import Nat
from .calls import RATE, BotRun, TurnSite, call, call_broken_midway, longest_gap_s, turn_site

DURATION_S = 5.0
UDP_BLOCKED_DURATION_S = 6.0
"""A little longer: with UDP dropped, set-up waits a little for the silent UDP relay first."""
RESTORED_WITHIN_S = 3.0
CHECK_TURN_TIMEOUT_S = 30.0


@pytest.fixture(autouse=True)
def coturn_installed() -> None:
    if shutil.which("turnserver") is None:
        pytest.skip("the TURN cases need coturn (apt-get install coturn)")


def assert_heard_each_other(a: BotRun, b: BotRun) -> None:
    for bot, hz in ((a, 660), (b, 440)):
        assert bot.proc.returncode == 0, str(bot)
        last_second = bot.heard()[-RATE:]
        assert abs(peaks_hz(last_second)[0] - hz) <= 2, str(bot)


def final_path(bot: BotRun) -> dict[str, str | None]:
    """The last path the bot reported while its call was up. The other bot, started first, may leave
    first: the end-of-run report then says that call is ``not connected (closed)`` (one CI run)."""
    connected = [path for path in bot.paths if path["route"] is not None]
    assert connected, f"no connected path reported\n{bot}"
    return connected[-1]


async def test_symmetric_nats_call_through_the_relay(tmp_path: Path) -> None:
    with turn_site(tmp_path, Nat.SYMMETRIC, Nat.SYMMETRIC, isolate_wans=True) as site:
        a, b = await call(site, tmp_path, DURATION_S)
    assert_heard_each_other(a, b)
    for bot in (a, b):
        assert final_path(bot)["route"] == "relayed", str(bot)


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
async def test_a_network_without_udp_calls_through_turn_over_tcp_or_tls(tmp_path: Path, tls: bool) -> None:
    """A's network drops UDP (and, for TLS, the relay's plain port too: a network that allows only TLS)."""
    with turn_site(tmp_path, Nat.UDP_BLOCKED, Nat.FULL_CONE, tls=tls) as site:
        if tls:
            site.lab.drop_from(site.lab.a, "tcp", site.coturn.port)
        a, b = await call(site, tmp_path, UDP_BLOCKED_DURATION_S)
    print(f"set-up without UDP ({'tls' if tls else 'tcp'}): {setup_s(a):.1f} s")
    assert_heard_each_other(a, b)
    path_a = final_path(a)
    assert (path_a["route"], path_a["protocol"], path_a["local"]) == (
        "relayed",
        "tls" if tls else "tcp",
        "relay",
    ), str(a)
    assert final_path(b)["route"] == "relayed", str(b)


async def test_full_cone_nats_call_directly(tmp_path: Path) -> None:
    with turn_site(tmp_path, Nat.FULL_CONE, Nat.FULL_CONE) as site:
        a, b = await call(site, tmp_path, DURATION_S)
    assert_heard_each_other(a, b)
    for bot in (a, b):
        path = final_path(bot)
        assert (path["route"], path["protocol"]) == ("direct", "udp"), str(bot)
        assert "relay" not in (path["local"], path["remote"]), str(bot)


async def test_a_wrong_secret_is_said_in_plain_words(tmp_path: Path) -> None:
    with turn_site(tmp_path, Nat.SYMMETRIC, Nat.SYMMETRIC, isolate_wans=True, server_secret="not-it") as site:
        a, b = await call(site, tmp_path, DURATION_S)
        check = check_turn(site, "not-it")
    for bot in (a, b):
        assert bot.proc.returncode == 0, str(bot)  # the room works; only the call cannot connect
        assert not any(path["route"] for path in bot.paths), str(bot)
        relay = [line for line in bot.err.splitlines() if line.startswith("* relay: ")]
        assert relay, str(bot)
        assert any(word in relay[0].lower() for word in ("secret", "credential", "refused")), relay
    print(f"{a}\n--check-turn: exit {check.returncode}\n{check.stdout}{check.stderr}")
    assert check.returncode != 0, check.stdout + check.stderr
    said = (check.stdout + check.stderr).lower()
    assert any(word in said for word in ("secret", "credential", "refused")), said


def setup_s(bot: BotRun) -> float:
    """From the bot's start to its first path report: join, relay choice, gathering, ICE, DTLS."""
    assert bot.connected_at is not None, str(bot)
    return bot.connected_at - bot.started


def check_turn(site: TurnSite, secret: str) -> subprocess.CompletedProcess[str]:
    """``voxroom-server --check-turn`` run in ``pub`` as an operator would, with the server's URLs."""
    turn = [arg for url in site.coturn.urls for arg in ("--turn-url", url)]
    cmd = [*site.lab.pub.prefix, sys.executable, "-m", "signaling_server", "--check-turn", *turn]
    cmd += ["--turn-secret", secret]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=CHECK_TURN_TIMEOUT_S, env=site.env)


async def test_audio_returns_within_3_s_after_the_relay_restarts(tmp_path: Path) -> None:
    with turn_site(tmp_path, Nat.SYMMETRIC, Nat.SYMMETRIC, isolate_wans=True) as site:

        async def restart_relay() -> float:
            killed = time.monotonic()
            await asyncio.to_thread(site.coturn.kill)
            await asyncio.to_thread(site.coturn.start)
            return time.monotonic() - killed

        a, b, restart_s = await call_broken_midway(site, tmp_path, 12.0, restart_relay)
    for bot in (a, b):
        assert bot.proc.returncode == 0, str(bot)
        # The silence starts when the relay dies; what follows its restart is the engine's doing.
        back_after_restart_s = longest_gap_s(bot.heard()) - restart_s
        print(f"{bot.name}: tone back {back_after_restart_s:.2f} s after the relay restarted")
        assert back_after_restart_s <= RESTORED_WITHIN_S, (
            f"{bot.name}: tone back {back_after_restart_s:.2f} s after the relay restarted "
            f"(restart took {restart_s:.2f} s)\n{bot}"
        )
    assert_heard_each_other(a, b)
