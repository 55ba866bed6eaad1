"""A host whose only interface is the loopback still gets calls (aioice alone never would).

Everything runs in a fresh network namespace with nothing but ``lo``: the
server and two bots, as processes (the server's ``listening on`` line says it
is up; its /health cannot be reached from outside the namespace). It needs root (``ip netns``), as CI has.
"""

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from client_desktop.engine.media import read_wav

from ..support.server import ServerProcess
from .audio import peaks_hz


@pytest.fixture
def netns() -> Iterator[list[str]]:
    if os.geteuid() != 0:
        pytest.skip("needs root for ip netns (CI runs as root)")
    name = f"vx-lo-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        yield ["ip", "netns", "exec", name]
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


async def test_two_bots_talk_on_a_loopback_only_host(netns: list[str], tmp_path: Path) -> None:
    inside = [*netns, sys.executable]
    addresses = subprocess.run([*netns, "ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    assert "127.0.0.1" in addresses
    assert len(addresses.strip().splitlines()) == 1  # nothing but lo
    server = ServerProcess(tmp_path, command=[*inside, "-m", "signaling_server"])
    server.start()
    try:
        common = ["-m", "client_desktop.bot", "--server", server.url, "--room", "r", "--duration", "4"]
        bots = [
            await asyncio.create_subprocess_exec(
                *inside,
                *common,
                *("--username", name, "--tone", hz, "--record", str(tmp_path / f"{name}.wav")),
                stdout=asyncio.subprocess.DEVNULL,
            )
            for name, hz in (("a", "440"), ("b", "660"))
        ]
        codes = await asyncio.wait_for(asyncio.gather(*(b.wait() for b in bots)), 60)
        assert codes == [0, 0]
        assert abs(peaks_hz(read_wav(tmp_path / "a.wav")[-48_000:])[0] - 660) <= 2
        assert abs(peaks_hz(read_wav(tmp_path / "b.wav")[-48_000:])[0] - 440) <= 2
    finally:
        server.close()
