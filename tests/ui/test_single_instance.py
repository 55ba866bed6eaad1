"""One app per user: a second launch hands its link to the running app (two real processes).

The first app runs offscreen with ``--test-driver``; the second is started as
the desktop entry would start it, with only a link. Each test has its own
``XDG_RUNTIME_DIR`` and settings folder, so it never meets a Voxroom the
person running the tests has open.
"""

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from client_desktop.single_instance import Address, Handoff, NoAnswerError, claim, hand_off
from signaling_server.app import RunningServer

from .launch import app_env
from .test_e2e import Proc

HANDOFF_LIMIT_S = 5.0


async def launch(*args: str, env: dict[str, str]) -> tuple[int, str, float]:
    """Run ``python -m client_desktop ARGS`` to its end: exit code, output, seconds taken."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "client_desktop",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), time.monotonic() - started


async def test_a_second_launch_hands_its_link_to_the_running_app_which_joins(
    server: RunningServer, tmp_path: Path
) -> None:
    env = app_env(tmp_path)
    first = await Proc.start(
        "-m", "client_desktop", "--username", "alice", "--no-audio", "--test-driver", env=env
    )
    try:
        await first.event("ready", timeout=30)
        code, out, took_s = await launch(f"voxroom://127.0.0.1:{server.port}/den?tls=0", env=env)
        assert (code, out) == (0, "")
        assert took_s < HANDOFF_LIMIT_S
        joined = await first.event("joined")
        assert (joined["room"], joined["users"]) == ("den", ["alice"])

        code, out, _ = await launch(env=env)  # no link: the running app only comes to the front
        assert (code, out) == (0, "")
        code, out, _ = await launch("voxroom://alice:pw@127.0.0.1:1/den", env=env)
        assert code == 2
        assert "never do" in out
        await first.send("quit")
        assert await first.stop() == 0
    finally:
        if first.proc.returncode is None:
            first.proc.kill()
            await first.stop()


def address(tmp_path: Path) -> Address:
    return Address(str(tmp_path / "v.sock"), tmp_path / "v.lock")


HAND_OFF = """
import sys
from pathlib import Path
from client_desktop.single_instance import Address, Handoff, hand_off
print(hand_off(Address(sys.argv[1], Path(sys.argv[2])), Handoff("voxroom://h:1/r", "token-1")))
"""


def test_nobody_running_means_this_launch_runs_and_then_takes_hand_offs(qtbot: QtBot, tmp_path: Path) -> None:
    here = address(tmp_path)
    first = claim(here, Handoff())
    assert not first.handed
    server = first.serve()
    assert server is not None
    try:
        got: list[Handoff] = []
        server.received.connect(got.append)
        # another process: a thread would hold the GIL in Qt's blocking wait, and the server's slot with it
        second = subprocess.Popen(
            [sys.executable, "-c", HAND_OFF, here.server_name, str(here.lock_path)],
            stdout=subprocess.PIPE,
            text=True,
        )
        qtbot.waitUntil(lambda: second.poll() is not None, timeout=10_000)
        assert second.communicate()[0] == "True\n"
        assert got == [Handoff("voxroom://h:1/r", "token-1")]
    finally:
        server.close()


def test_a_stale_socket_left_by_a_crash_does_not_stop_the_next_start(tmp_path: Path) -> None:
    here = address(tmp_path)
    (tmp_path / "v.sock").write_bytes(b"")  # what a killed app leaves behind
    first = claim(here, Handoff())
    assert not first.handed
    server = first.serve()
    assert server is not None
    server.close()


def test_something_listening_that_does_not_answer_is_said(tmp_path: Path) -> None:
    here = address(tmp_path)
    with socket.socket(socket.AF_UNIX) as mute:
        mute.bind(here.server_name)
        mute.listen()
        with pytest.raises(NoAnswerError, match="did not answer"):
            hand_off(here, Handoff(), timeout_ms=300)
