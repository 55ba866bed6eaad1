"""A hostile peer cannot make our client probe its loopback (``candidate_policy.py``).

The server is on a public address here (the lab's ``pub``), so our client
refuses remote candidates at loopback; a candidate at its own LAN address is
allowed, which shows that connectivity checks did run.
"""

import asyncio
import sys
from pathlib import Path

from ..support.natlab import Nat
from ..support.server import REPO
from .calls import finish, start_bot, turn_site

LISTEN_S = 8.0
LOOPBACK, OWN = "127.0.0.1:47001", "198.18.101.2:47002"


async def test_candidates_at_loopback_are_never_probed(tmp_path: Path) -> None:
    with turn_site(tmp_path, Nat.FULL_CONE, Nat.FULL_CONE) as site:
        victim = await start_bot(site.lab.a, site, "a", 440, LISTEN_S + 4, tmp_path)
        listener = await asyncio.create_subprocess_exec(
            *site.lab.a.prefix,
            *(sys.executable, "-m", "tests.lab.probe", "count", str(LISTEN_S), LOOPBACK, OWN),
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert listener.stdout is not None
            assert await asyncio.wait_for(listener.stdout.readline(), 10) == b"ready\n"
            async with asyncio.timeout(15):
                while not any(line.startswith("* joined") for line in victim.lines):
                    await asyncio.sleep(0.05)
            mallory = await asyncio.create_subprocess_exec(
                *site.lab.b.prefix,
                *(sys.executable, "-m", "tests.lab.hostile_peer", site.server.url, "lab", "5", LOOPBACK, OWN),
                cwd=REPO,
                env=site.env,
                stdout=asyncio.subprocess.PIPE,
            )
            said, _ = await asyncio.wait_for(mallory.communicate(), 30)
            counted, _ = await asyncio.wait_for(listener.communicate(), LISTEN_S + 10)
        finally:
            if listener.returncode is None:
                listener.kill()
                await listener.wait()
            await finish((victim,))
    assert said.decode().strip() == "offered 1", said
    counts = dict(line.split() for line in counted.decode().splitlines())
    assert int(counts[OWN]) > 0, f"no checks at all: the test proves nothing\n{victim}"
    assert counts[LOOPBACK] == "0", f"{counts}\n{victim}"
