"""A call whose path breaks mid-call comes back by itself, without leaving the room.

aiortc has no ICE restart and its consent checks take 30 s to give up, so
the engine watches each call's audio and renegotiates a call that went
silent (``docs/protocol.md``, "A path that breaks mid-call"). The relay
restarting is in test_turn_calls.py; here a NAT forgets its UDP mappings,
as home routers do after a short idle time or a reboot, while the
signaling's TCP connection lives on.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from ..support.natlab import Nat
from .calls import call_broken_midway, longest_gap_s, turn_site

RESTORED_WITHIN_S = 3.0


@pytest.mark.skipif(shutil.which("conntrack") is None, reason="needs conntrack (apt-get install conntrack)")
async def test_audio_returns_within_3_s_after_a_nat_forgets_its_udp_mappings(tmp_path: Path) -> None:
    with turn_site(tmp_path, Nat.SYMMETRIC, Nat.SYMMETRIC, isolate_wans=True) as site:

        async def forget_udp_mappings() -> subprocess.CompletedProcess[str]:
            return site.lab.routers[0].run("conntrack", "-D", "-p", "udp", check=False)

        a, b, flushed = await call_broken_midway(site, tmp_path, 10.0, forget_udp_mappings)
    assert "flow entries have been deleted" in flushed.stderr + flushed.stdout, flushed
    assert not (flushed.stderr + flushed.stdout).startswith("0 flow"), flushed
    gaps = {}
    for bot in (a, b):
        assert bot.proc.returncode == 0, str(bot)
        gaps[bot.name] = gap_s = longest_gap_s(bot.heard())
        print(f"{bot.name}: tone gone for {gap_s:.2f} s after a's NAT forgot its mappings")
        assert gap_s <= RESTORED_WITHIN_S, f"{bot.name}: gap {gap_s:.2f} s\n{bot}"
    # The break was real: at least one side (TURN permissions are per address, so a's packets may
    # still reach b) heard nothing until the engine noticed (1 s) and renegotiated.
    assert max(gaps.values()) >= 1.0, gaps
