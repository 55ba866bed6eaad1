"""What a call adds from mouth to ear, measured from outside, the way a hardware loopback test does it.

Two ``voxroom-bot --devices`` are in a call through a local server, on a
private PulseAudio. One full-duplex PortAudio stream, stereo, plays clicks
(bench/engine_clicks.py) on its left channel into a stereo null sink
``mix`` and records ``mix.monitor``. A's microphone is the left channel of
that monitor (a remap source); B's speaker is the right channel of ``mix``
(a remap sink). So each click is recorded twice on one sample clock: on the
left as it went in (the direct loop: the probe's own buffers and the sink),
on the right as B played it; right minus left is what the call adds, from
A's microphone device to B's speaker device. Nothing here reads what
PortAudio reports about latency, and the probe's own buffers (and its
xruns, which shift both channels alike) cancel out click by click.

Variants (ways of running the bots) take turns, round after round, so that
machine noise hits each alike. A dropout is a click not heard, or heard at
under half the median level (a hole in it); concealment in the silence
between clicks is not seen from outside.

    .venv/bin/python bench/m2e_probe.py --rounds 3 --clicks 40

Prints a table and, with ``--json FILE``, writes every latency.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a script in bench/

from engine_clicks import CLICK_EVERY_S, CLICK_SAMPLES, Onsets, click_pcm, codec_delay_ms, pair, shift_ms

from client_desktop.engine.devices import DEFAULT_STREAMS, DeviceAudio, StreamSettings
from client_desktop.engine.pcm import FRAME_SAMPLES, SAMPLE_RATE, Pcm
from client_desktop.engine.processing import ProcessingSettings, VoiceProcessor
from tests.support.pulse import Pulse
from tests.support.server import ServerProcess

PROBE_BLOCK = 480
LEAD_S = 1.0
"""Silence before the first click: the probe's streams settle."""
CONNECT_TIMEOUT_S = 30.0
BOT_SETTLE_S = 2.0
"""After both bots report the call connected: their devices' first callbacks and the playout settle."""
DAMAGED_LEVEL = 0.5
"""A heard click below this fraction of the median heard level had a hole in it (a dropout)."""
SINKS = ("out_a", "in_b")
"""A's speaker and B's microphone: silent ends of the call, plain null sinks."""
ROUTING = (
    "module-null-sink sink_name=mix rate=48000 channels=2 channel_map=front-left,front-right",
    "module-remap-sink sink_name=b_out master=mix channels=1 channel_map=mono"
    " master_channel_map=front-right remix=no",
    "module-remap-source source_name=a_in master=mix.monitor channels=1 channel_map=mono"
    " master_channel_map=front-left remix=no",
)
REALTIME_PRIORITY = 5
"""rtkit's default for PulseAudio."""
BOTS = {"a": ("a_in", "out_a"), "b": ("in_b.monitor", "b_out")}
"""Bot -> (PulseAudio source it records, sink it plays to)."""


@dataclass
class ProbeRun:
    """One probe pass: latencies (s, paired clicks) and what went wrong."""

    latencies_s: list[float]
    sent: int
    heard: int
    damaged: int
    probe_xruns: int
    direct_s: float | None
    """The direct loop (probe out, sink, monitor, probe in): context only, it cancels out."""

    @property
    def dropouts(self) -> int:
        return self.sent - len(self.latencies_s) + self.damaged


@dataclass
class Variant:
    """One way of running the bots: its label and extra ``voxroom-bot`` arguments."""

    name: str
    bot_args: tuple[str, ...]
    runs: list[ProbeRun] = field(default_factory=list)


# --- the probe (a child process: PortAudio reads PULSE_SINK and PULSE_SOURCE once) --------------


def probe(clicks: int, seed: int) -> ProbeRun:
    """Play the clicks on the left of ``mix`` while recording its monitor, on one duplex stream."""
    import sounddevice as sd

    track = click_pcm(clicks, random.Random(seed), lead_s=LEAD_S)
    total = len(track) + round((0.5 + 2 * CLICK_EVERY_S) * SAMPLE_RATE)
    recorded = np.zeros((total, 2), dtype=np.int16)
    pos, xruns = 0, 0
    done = threading.Event()

    def callback(indata: Any, outdata: Any, frames: int, _time: Any, status: Any) -> None:
        nonlocal pos, xruns
        xruns += bool(status)
        out = track[pos : pos + frames]
        outdata[:] = 0
        outdata[: len(out), 0] = out
        got = indata[: max(0, min(frames, total - pos))]
        recorded[pos : pos + len(got)] = got
        pos += frames
        if pos >= total:
            done.set()

    with sd.Stream(
        samplerate=SAMPLE_RATE,
        blocksize=PROBE_BLOCK,
        channels=2,
        dtype="int16",
        latency="low",  # the null sink runs at the lowest latency asked of it: as a sound card's would
        callback=callback,
    ):
        done.wait(total / SAMPLE_RATE + 10)
    return measure(track, recorded, xruns)


def _onsets(pcm: Pcm) -> list[float]:
    onsets = Onsets()
    for start in range(0, len(pcm), PROBE_BLOCK):  # Onsets takes one onset per block at most
        onsets.feed(pcm[start : start + PROBE_BLOCK], start / SAMPLE_RATE)
    return onsets.times


def measure(track: Pcm, recorded: np.ndarray, xruns: int) -> ProbeRun:
    """Onsets by sample index: left (direct) against right (through the call), click by click."""
    played, direct, heard = _onsets(track), _onsets(recorded[:, 0]), _onsets(recorded[:, 1])
    latencies = pair(direct, heard)
    levels = [
        float(np.sqrt(np.mean(recorded[s : s + CLICK_SAMPLES, 1].astype(np.float64) ** 2)))
        for s in (round(t * SAMPLE_RATE) for t in heard)
    ]
    typical = statistics.median(levels) if levels else 0.0
    damaged = sum(level < DAMAGED_LEVEL * typical for level in levels)
    loop = pair(played, direct)
    direct_s = statistics.median(loop) if loop else None
    return ProbeRun(latencies, len(direct), len(heard), damaged, xruns, direct_s)


def run_probe(env: dict[str, str], clicks: int, seed: int) -> ProbeRun:
    """The probe in a child on ``mix``; killed if it hangs; once more if it recorded nothing of its own."""
    env = {**env, "PULSE_SINK": "mix", "PULSE_SOURCE": "mix.monitor"}
    cmd = [sys.executable, __file__, "--probe-child", str(clicks), str(seed)]
    timeout_s = 30 + clicks * CLICK_EVERY_S * 2
    for _ in range(2):
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s, check=True)
        run = ProbeRun(**json.loads(out.stdout.strip().splitlines()[-1]))
        if run.sent:
            break
    return run


# --- the call -----------------------------------------------------------------------------------


WIRE = "wire"
"""A variant's first word that runs the wire instead of the bots."""


def _commands(url: str, room: str, args: Sequence[str]) -> list[tuple[list[str], str, str]]:
    """(command, source, sink) of each process a variant runs."""
    if args[:1] == (WIRE,):
        return [([sys.executable, __file__, "--wire-child", *args[1:]], BOTS["a"][0], BOTS["b"][1])]
    bot = [sys.executable, "-m", "client_desktop.bot", "--server", url, "--room", room, "--devices", "--json"]
    return [([*bot, "--username", name, *args], source, sink) for name, (source, sink) in BOTS.items()]


@contextlib.contextmanager
def running(env: dict[str, str], url: str, room: str, args: Sequence[str], workdir: Path) -> Iterator[None]:
    """A variant's processes (two bots in a call, or the wire) on their devices; stopped after."""
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for i, (cmd, source, sink) in enumerate(_commands(url, room, args)):
            log = workdir / f"{room}-{i}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    cmd,
                    env={**env, "PULSE_SINK": sink, "PULSE_SOURCE": source},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            procs.append((proc, log))
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while not all(READY in log.read_bytes() for _, log in procs):
            if time.monotonic() > deadline or any(p.poll() is not None for p, _ in procs):
                tails = " | ".join(log.read_text(errors="replace")[-300:] for _, log in procs)
                raise RuntimeError(f"not ready: {tails}")
            time.sleep(0.1)
        time.sleep(BOT_SETTLE_S)
        yield
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
        for proc, _ in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


READY = b'"state": "connected"'
"""What a bot prints (``--json``) once its call is up; the wire prints it once its devices run."""


def wire(processing: bool, streams: StreamSettings, delay_frames: int = 0) -> None:
    """The devices alone: ``DeviceAudio`` capture straight to its playback, as a call of zero cost would.

    The newest captured frame is played (after ``delay_frames`` more: a known delay that checks the
    probe); an older one still waiting is dropped, so the wire keeps the least delay its callbacks allow.
    """
    settings = ProcessingSettings() if processing else ProcessingSettings(False, False, False)

    async def run() -> None:
        frames: deque[Pcm] = deque(maxlen=delay_frames + 1)
        silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        audio = DeviceAudio(
            lambda *failure: print(failure, flush=True), processor=VoiceProcessor(settings), streams=streams
        )
        audio.start(frames.append, lambda: frames.popleft() if len(frames) > delay_frames else silence)
        while not audio.running:
            await asyncio.sleep(0.05)
        print(READY.decode(), flush=True)
        await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


# --- the report ---------------------------------------------------------------------------------


def pct_ms(values_s: Sequence[float], q: float) -> float:
    return round(float(np.percentile(np.array(values_s), q)) * 1000, 1) if values_s else float("nan")


def report(variants: list[Variant]) -> str:
    direct = [r.direct_s for v in variants for r in v.runs if r.direct_s is not None]
    lines = [
        f"direct loop (the probe's own, cancelled out): median {statistics.median(direct) * 1000:.1f} ms,"
        f" {min(direct) * 1000:.1f}-{max(direct) * 1000:.1f} over runs"
        if direct
        else "no direct loop",
        "| variant | added p50 | added p90 | per-run p50s | clicks sent/paired | dropouts | probe xruns |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in variants:
        added = [x for r in v.runs for x in r.latencies_s]
        runs = [pct_ms(r.latencies_s, 50) for r in v.runs]
        sent, paired = sum(r.sent for r in v.runs), len(added)
        drops, xruns = sum(r.dropouts for r in v.runs), sum(r.probe_xruns for r in v.runs)
        figures = [v.name, pct_ms(added, 50), pct_ms(added, 90), runs, f"{sent}/{paired}", drops, xruns]
        lines.append("| " + " | ".join(str(f) for f in figures) + " |")
    return "\n".join(lines)


def processing_delay_ms(settings: ProcessingSettings) -> float | None:
    """The clicks' shift through the voice processor alone (the far end silent, as in the probe's call)."""
    processor, silence = VoiceProcessor(settings), np.zeros(FRAME_SAMPLES, dtype=np.int16)

    def capture(frame: Pcm) -> Pcm:
        processor.played(silence)
        return processor.capture(frame)

    return shift_ms(capture)


def offline_components() -> str:
    """What the engine's own steps delay a click, without any clock: they add to every figure above."""
    parts = {
        "Opus encode + decode (lookahead)": codec_delay_ms(),
        "processing, all on (default)": processing_delay_ms(ProcessingSettings()),
        "echo cancellation alone": processing_delay_ms(ProcessingSettings(True, False, False)),
        "noise suppression + high-pass alone": processing_delay_ms(ProcessingSettings(False, True, False)),
        "gain control alone": processing_delay_ms(ProcessingSettings(False, False, True)),
    }
    return "\n".join(f"offline: {name}: {ms:.1f} ms" for name, ms in parts.items() if ms is not None)


def parse_variant(text: str) -> Variant:
    name, _, args = text.partition("=")
    return Variant(name, tuple(args.split()))


DEFAULT_VARIANTS = (
    "processing=",
    "no-processing=--no-processing",
    "wire=wire --no-processing",
)
"""The wire runs without processing: its echo canceller would hear each click played back 300 ms
before the next identical one and cancel that as echo. What processing delays is measured offline."""


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--clicks", type=int, default=40, help="clicks per probe pass")
    p.add_argument(
        "--variant",
        action="append",
        metavar="NAME=BOT ARGS",
        help=f"a way to run the bots (repeatable; default {' and '.join(DEFAULT_VARIANTS)})",
    )
    p.add_argument(
        "--realtime-pulse", action="store_true", help="run PulseAudio at realtime priority (needs the right)"
    )
    p.add_argument("--json", type=Path, help="write every run's latencies here")
    p.add_argument("--probe-child", nargs=2, type=int, metavar=("CLICKS", "SEED"), help=argparse.SUPPRESS)
    p.add_argument("--wire-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-processing", action="store_true", help="(the wire) as voxroom-bot's")
    p.add_argument("--delay-frames", type=int, default=0, help="(the wire) a known delay, in 20 ms frames")
    p.add_argument(
        "--block", type=int, default=DEFAULT_STREAMS.blocksize, help="(the wire) samples per callback"
    )
    p.add_argument(
        "--latency", default=DEFAULT_STREAMS.latency, help="(the wire) PortAudio's: low, high or s"
    )
    args = p.parse_args(argv)
    if args.probe_child:
        print(json.dumps(asdict(probe(*args.probe_child))), flush=True)
        return 0
    if args.wire_child:
        latency = args.latency if args.latency in ("low", "high") else float(args.latency)
        wire(not args.no_processing, StreamSettings(args.block, latency), args.delay_frames)
        return 0
    variants = [parse_variant(v) for v in args.variant or DEFAULT_VARIANTS]
    with tempfile.TemporaryDirectory(prefix="vx-m2e-") as tmp, Pulse(SINKS) as pulse:
        for module in ROUTING:
            subprocess.run(
                ["pactl", "load-module", *module.split()], env=pulse.env, check=True, capture_output=True
            )
        if args.realtime_pulse:  # as on a desktop, where rtkit grants PulseAudio realtime scheduling
            os.sched_setscheduler(pulse.proc.pid, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
        server = ServerProcess(Path(tmp))
        server.start()
        try:
            for round_ in range(args.rounds):
                for i, v in enumerate(variants):
                    with running(pulse.env, server.url, f"m2e-{round_}-{i}", v.bot_args, Path(tmp)):
                        v.runs.append(run_probe(pulse.env, args.clicks, round_))
                    print(
                        f"round {round_ + 1}: {v.name} {report_line(v.runs[-1])}", file=sys.stderr, flush=True
                    )
        finally:
            server.kill()
    print(report(variants))
    print(offline_components())
    if args.json:
        args.json.write_text(json.dumps({v.name: [asdict(r) for r in v.runs] for v in variants}))
    return 0


def report_line(run: ProbeRun) -> str:
    paired = f"{len(run.latencies_s)}/{run.sent} paired"
    return f"p50 {pct_ms(run.latencies_s, 50)} ms, {paired}, {run.dropouts} dropouts, {run.probe_xruns} xruns"


if __name__ == "__main__":
    sys.exit(main())
