"""Calls across the NAT lab: coturn and the server in ``pub``, one ``voxroom-bot`` each in a and b.

The benchmark (bench/turn_bench.py) uses the same pieces, so a case and a
figure always describe the same set-up.
"""

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import trustme

from client_desktop.bot_output import PATH_LINE
from client_desktop.engine.media import read_wav
from client_desktop.engine.pcm import Pcm

from ..support.coturn import Coturn
from ..support.natlab import Host, Nat, NatLab, nat_lab
from ..support.server import REPO, ServerProcess

T = TypeVar("T")
SECRET = "lab-secret"
TURN_PORT = 3478
TLS_PORT = 5349
SERVER_PORT = 8765
BOT_EXIT_TIMEOUT_S = 30.0
"""Past its ``--duration``: leaving, and the last path report."""
RATE = 48_000
WINDOW_S = 0.05
TONE_DBFS = -40.0
"""A window louder than this holds the tone (played at -12 dBFS); silence and comfort noise are far below."""


@dataclass
class TurnSite:
    """The lab with coturn and the signaling server running in ``pub``."""

    lab: NatLab
    coturn: Coturn
    server: ServerProcess
    env: dict[str, str]
    """For the bots: trusts the lab's CA when TLS is on."""


@contextlib.contextmanager
def turn_site(
    tmp: Path,
    nat_a: Nat,
    nat_b: Nat,
    *,
    isolate_wans: bool = False,
    tls: bool = False,
    coturn_secret: str = SECRET,
    server_secret: str = SECRET,
) -> Iterator[TurnSite]:
    """Lab, coturn and server up inside the block, all stopped and removed after it.

    The server hands out coturn's URLs in the order UDP, TCP, TLS, with
    credentials from ``server_secret``, and coturn's address as STUN server.
    """
    env = dict(os.environ)
    cert = key = None
    with nat_lab(nat_a, nat_b, isolate_wans=isolate_wans) as lab:
        pub = lab.pub
        if tls:
            cert, key, env["SSL_CERT_FILE"] = _certificate(tmp, pub.address)
        coturn = Coturn(
            tmp,
            secret=coturn_secret,
            listen_ip=pub.address,
            port=TURN_PORT,
            tls_port=TLS_PORT if tls else None,
            cert=cert,
            key=key,
            prefix=pub.prefix,
        )
        turn = [arg for url in coturn.urls for arg in ("--turn-url", url)]
        server = ServerProcess(
            tmp,
            *("--host", pub.address, *turn, "--turn-secret", server_secret),
            *("--ice-server", f"stun:{pub.address}:{TURN_PORT}"),
            port=SERVER_PORT,
            command=[*pub.prefix, sys.executable, "-m", "signaling_server"],
        )
        with coturn:
            server.start()
            try:
                yield TurnSite(lab, coturn, server, env)
            finally:
                server.close()


def _certificate(tmp: Path, address: str) -> tuple[Path, Path, str]:
    """A certificate for ``address`` from a fresh CA: (cert, key, the CA's file)."""
    ca = trustme.CA()
    issued = ca.issue_cert(address)
    paths = tmp / "turn-cert.pem", tmp / "turn-key.pem", tmp / "lab-ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(paths[0]))
    issued.private_key_pem.write_to_path(str(paths[1]))
    ca.cert_pem.write_to_path(str(paths[2]))
    return paths[0], paths[1], str(paths[2])


@dataclass
class BotRun:
    """One ``voxroom-bot`` in a lab host: its stdout lines as they come, its stderr and recording."""

    name: str
    proc: asyncio.subprocess.Process
    record: Path
    started: float
    lines: list[str] = field(default_factory=list)
    connected_at: float | None = None
    """``time.monotonic()`` of its first path report: the call connected."""
    err: str = ""
    _reader: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            line = raw.decode().rstrip("\n")
            self.lines.append(line)
            if self.connected_at is None and PATH_LINE.fullmatch(line):
                self.connected_at = time.monotonic()

    async def finish(self) -> int:
        """Wait for its exit (killed past ``BOT_EXIT_TIMEOUT_S`` more than its duration) and its output."""
        assert self._reader is not None
        try:
            await asyncio.wait_for(self.proc.wait(), BOT_EXIT_TIMEOUT_S)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
            await self._reader
            assert self.proc.stderr is not None
            self.err = (await self.proc.stderr.read()).decode()
        assert self.proc.returncode is not None
        return self.proc.returncode

    @property
    def paths(self) -> list[dict[str, str | None]]:
        """Its path reports, in order (``PATH_LINE``'s groups)."""
        return [m.groupdict() for line in self.lines if (m := PATH_LINE.fullmatch(line))]

    def heard(self) -> Pcm:
        return read_wav(self.record)

    def __str__(self) -> str:
        return (
            f"{self.name}: exit {self.proc.returncode}\nstdout:\n"
            + "\n".join(self.lines)
            + f"\nstderr:\n{self.err}"
        )


async def start_bot(
    host: Host, site: TurnSite, name: str, tone_hz: int, duration_s: float, tmp: Path, *extra: str
) -> BotRun:
    record = tmp / f"{name}.wav"
    cmd = [*host.prefix, sys.executable, "-m", "client_desktop.bot", "--server", site.server.url]
    cmd += ["--room", "lab", "--username", name, "--tone", str(tone_hz), "--record", str(record)]
    cmd += ["--duration", str(duration_s), *extra]
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=REPO, env=site.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    bot = BotRun(name, proc, record, time.monotonic())
    bot._reader = asyncio.create_task(bot._read())
    return bot


async def call(site: TurnSite, tmp: Path, duration_s: float, *extra: str) -> tuple[BotRun, BotRun]:
    """Bots "a" (440 Hz, in host a) and "b" (660 Hz, in host b) for ``duration_s``; both finished."""
    bots = await two_bots(site, tmp, duration_s, *extra)
    await finish(bots)
    return bots


async def two_bots(site: TurnSite, tmp: Path, duration_s: float, *extra: str) -> tuple[BotRun, BotRun]:
    a = await start_bot(site.lab.a, site, "a", 440, duration_s, tmp, *extra)
    b = await start_bot(site.lab.b, site, "b", 660, duration_s, tmp, *extra)
    return a, b


async def finish(bots: Sequence[BotRun]) -> None:
    await asyncio.gather(*(bot.finish() for bot in bots), return_exceptions=True)


def tone_windows(samples: Pcm) -> npt.NDArray[np.bool_]:
    """Per ``WINDOW_S`` of ``samples``: whether it holds the tone (its level above ``TONE_DBFS``)."""
    n = int(RATE * WINDOW_S)
    frames = samples[: len(samples) // n * n].astype(np.float64).reshape(-1, n)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    present: npt.NDArray[np.bool_] = 20 * np.log10(np.maximum(rms, 1e-9) / 32768) > TONE_DBFS
    return present


def longest_gap_s(samples: Pcm) -> float:
    """The longest stretch without the tone between its first and its last appearance (0 if none)."""
    present = np.flatnonzero(tone_windows(samples))
    if len(present) < 2:
        return 0.0
    return float(np.max(np.diff(present)) - 1) * WINDOW_S


async def wait_connected(bots: Sequence[BotRun], timeout_s: float) -> None:
    """Until every bot has reported a path (its call connected); fails after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while any(bot.connected_at is None for bot in bots):
        assert time.monotonic() < deadline, "the call did not connect\n" + "\n".join(map(str, bots))
        await asyncio.sleep(0.05)


async def call_broken_midway(
    site: TurnSite, tmp: Path, duration_s: float, break_call: Callable[[], Awaitable[T]]
) -> tuple[BotRun, BotRun, T]:
    """Bots a and b connect and talk for 1.5 s, then ``break_call`` runs; both finished after."""
    a, b = await two_bots(site, tmp, duration_s)
    try:
        await wait_connected((a, b), timeout_s=10.0)
        await asyncio.sleep(1.5)  # some tone in both recordings before the break
        result = await break_call()
    finally:
        await finish((a, b))
    return a, b, result
