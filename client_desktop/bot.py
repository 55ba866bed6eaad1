"""``voxroom-bot``: a headless client. Plays a file or tone into a room, records what it hears.

It runs the same engine as the desktop app, with the sound card replaced by
a 20 ms pacer: a test client, a load generator, a room's jukebox.

What it prints (each call's path in words, or every event as JSON) is in
``bot_output.py``. Every line of standard input is sent as a chat, so a
script can make the bot talk mid-call.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import textwrap
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from protocol import Ban, Kick, LockRoom, ModRequest, Peer, ServerMute, limits, name_key

from .bot_output import JSON_HELP, print_event, print_json, print_paths
from .engine import events
from .engine.devices import DEFAULT_STREAMS, DeviceAudio
from .engine.engine import AudioIO, AudioOptions, Engine
from .engine.errors import JoinRefused, ServerUnreachable, TlsFailed
from .engine.media import Silence, Source, Tone, WavFile, WavWriter
from .engine.pacer import PacedAudio
from .engine.processing import ProcessingSettings, VoiceProcessor
from .engine.uplink import TalkMode

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_UNREACHABLE = 4
EXIT_LOST = 5
HELP_WIDTH = 79
STDIN_HELP = (
    "Every line of standard input is sent as a chat (blank lines are skipped); "
    "its end changes nothing (the bot stays for --duration)."
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    epilog = [
        "Exit codes: 0 done, 2 usage, 3 join refused (password, name, room full), "
        "4 server unreachable (or its certificate not trusted), 5 connection lost for good.",
        "Each call's path is printed when it connects and at the end: "
        "'* call with NAME: direct|relayed over udp|tcp|tls (LOCAL to REMOTE candidate), rtt N ms'.",
        JSON_HELP,
        STDIN_HELP,
    ]
    p = argparse.ArgumentParser(
        prog="voxroom-bot",
        description="Join a Voxroom room headless: play audio into the call, record what it hears.",
        # Wrapped here: argparse's own wrapping would split the kebab-case type names at their hyphens.
        epilog="\n\n".join(textwrap.fill(text, HELP_WIDTH, break_on_hyphens=False) for text in epilog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--server", required=True, help=f"ws:// or wss:// URL of the server's {limits.WS_PATH} endpoint"
    )
    p.add_argument("--room", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", default=None)
    p.add_argument("--room-password", default=None, help="what a room given a password asks of new joins")
    mod = p.add_argument_group(
        "moderation", "with the server's admin password; NAME is a username in the room, after the join"
    )
    mod.add_argument("--admin-password", default=None, help="join as a moderator")
    mod.add_argument(
        "--kick", action="append", default=[], metavar="NAME[:REASON]", help="remove someone (repeatable)"
    )
    mod.add_argument(
        "--ban",
        action="append",
        default=[],
        metavar="NAME[:SECONDS[:REASON]]",
        help=f"remove someone and refuse their address (default {limits.DEFAULT_BAN_S} s; repeatable)",
    )
    mod.add_argument("--server-mute", action="append", default=[], metavar="NAME", help="(repeatable)")
    mod.add_argument("--server-unmute", action="append", default=[], metavar="NAME", help="(repeatable)")
    lock = mod.add_mutually_exclusive_group()
    lock.add_argument(
        "--lock",
        nargs="?",
        const="",
        default=None,
        metavar="PASSWORD",
        help="refuse new joins to the room, or with PASSWORD ask them for it",
    )
    lock.add_argument("--unlock", action="store_true", help="open the room again")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--play", type=Path, metavar="FILE.wav", help="48 kHz 16-bit WAV to play (once)")
    what.add_argument("--tone", type=float, metavar="HZ", help="play a sine tone")
    p.add_argument("--tone-dbfs", type=float, default=-12.0, help="tone level (default -12 dBFS)")
    what.add_argument(
        "--devices",
        action="store_true",
        help="use the sound card: microphone in, speaker out (instead of files)",
    )
    p.add_argument("--no-processing", action="store_true", help="with --devices: no echo cancellation etc.")
    p.add_argument(
        "--device-block",
        type=int,
        default=DEFAULT_STREAMS.blocksize,
        metavar="SAMPLES",
        help="with --devices: samples per callback, 0: PortAudio's choice (default %(default)s)",
    )
    p.add_argument("--record", type=Path, metavar="OUT.wav", help="write what the bot hears (mixed)")
    p.add_argument(
        "--say", action="append", default=[], metavar="TEXT", help="send a chat message (repeatable)"
    )
    p.add_argument(
        "--duration", type=float, default=None, metavar="S", help="stay this long (default: until ^C)"
    )
    p.add_argument("--no-voice", action="store_true", help="stay out of the call (chat only)")
    p.add_argument("--mute", action="store_true", help="join muted")
    p.add_argument(
        "--json", action="store_true", help="print every event as one JSON line on stdout (see below)"
    )
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    return p.parse_args(argv)


def _source(args: argparse.Namespace) -> Source:
    if args.play is not None:
        return WavFile(args.play)
    if args.tone is not None:
        return Tone(args.tone, args.tone_dbfs)
    return Silence()


def _audio(args: argparse.Namespace, on_event: events.EngineEventSink) -> AudioIO:
    if not args.devices:
        return PacedAudio(_source(args), WavWriter(args.record) if args.record else None)
    if args.record:
        raise ValueError("--record needs file audio; with --devices the speaker is the output")
    settings = ProcessingSettings(False, False, False) if args.no_processing else ProcessingSettings()
    return DeviceAudio(
        on_event,
        processor=VoiceProcessor(settings),
        streams=replace(DEFAULT_STREAMS, blocksize=args.device_block),
    )


def moderation(args: argparse.Namespace, peers: Sequence[Peer]) -> list[ModRequest]:
    """The moderation flags as requests, names resolved to the ids of ``peers`` as the server compares names.

    Raises:
        ValueError: a NAME nobody in the room has, or a malformed ``--ban``.
    """
    ids = {name_key(peer.username): peer.id for peer in peers}

    def target(name: str) -> str:
        try:
            return ids[name_key(name)]
        except KeyError:
            raise ValueError(f"nobody named {name!r} is in the room") from None

    requests: list[ModRequest] = []
    for spec in args.kick:
        name, _, reason = spec.partition(":")
        requests.append(Kick(target=target(name), reason=reason))
    for spec in args.ban:
        name, _, rest = spec.partition(":")
        seconds, _, reason = rest.partition(":")
        if seconds and not seconds.isdigit():
            raise ValueError(f"--ban {spec}: SECONDS must be a whole number")
        requests.append(
            Ban(target=target(name), reason=reason, duration_s=int(seconds or limits.DEFAULT_BAN_S))
        )
    requests += [ServerMute(target=target(name), muted=True) for name in args.server_mute]
    requests += [ServerMute(target=target(name), muted=False) for name in args.server_unmute]
    if args.lock is not None or args.unlock:
        requests.append(LockRoom(locked=not args.unlock, password=args.lock or None))
    return requests


def read_lines(on_line: Callable[[str], None]) -> None:
    """Hand each line of standard input to ``on_line`` on the running loop, until its end.

    A thread does the reading: stdin may be a pipe, a terminal, a file or
    /dev/null, and the loop can watch only the first two. It reads the file
    descriptor itself, so it holds no lock that the interpreter's exit would
    wait for. A terminal we are in the background of (a shell's ``&``) is
    left alone: reading it would stop the bot (SIGTTIN).
    """
    try:
        if os.isatty(0) and os.tcgetpgrp(0) != os.getpgrp():
            return
    except OSError:
        return  # no standard input at all
    loop = asyncio.get_running_loop()

    def deliver(raw: bytes) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: the bot is on its way out
            loop.call_soon_threadsafe(on_line, raw.decode(errors="replace").rstrip("\r"))

    def pump() -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(0, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                deliver(line)
        if pending:
            deliver(pending)

    threading.Thread(target=pump, name="voxroom-bot-stdin", daemon=True).start()


def _chat_sender(engine: Engine) -> Callable[[str], None]:
    """What ``read_lines`` calls: a line the protocol refuses is said on stderr, and the bot goes on."""

    def send(text: str) -> None:
        if not text.strip():
            return
        try:
            engine.send_chat(text)
        except ValueError as exc:  # too long, say
            print(f"voxroom-bot: not sent: {exc}", file=sys.stderr, flush=True)

    return send


async def _stay(done: asyncio.Event, duration: float | None) -> None:
    """Until ``done``, the end of ``duration`` or ^C: each ends the bot alike (it leaves, its WAV is whole).

    ``asyncio.run`` turns ^C (SIGINT) into cancelling this task: taken back here, once.
    """
    try:
        await asyncio.wait_for(done.wait(), duration)
    except TimeoutError:
        pass
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()


async def run(args: argparse.Namespace) -> int:
    failed: list[events.ConnectionFailed] = []
    reports: set[asyncio.Task[None]] = set()

    show = print_json if args.json else print_event

    def on_event(event: events.EngineEvent) -> None:
        show(event)
        if isinstance(event, events.ConnectionFailed):
            failed.append(event)
            done.set()
        elif isinstance(event, events.CallStateChanged) and event.state is events.CallState.CONNECTED:
            report = asyncio.create_task(print_paths(engine, event.peer_id, as_json=args.json))
            reports.add(report)
            report.add_done_callback(reports.discard)

    done = asyncio.Event()
    audio = _audio(args, on_event)
    engine = Engine(
        args.server,
        args.room,
        args.username,
        audio,
        on_event,
        password=args.password,
        admin_password=args.admin_password,
        room_password=args.room_password,
        voice=not args.no_voice,
        options=AudioOptions(talk_mode=TalkMode.OPEN),  # a bot transmits what it is given
    )
    try:
        joined = await engine.start()
    except JoinRefused as exc:
        print(f"voxroom-bot: {exc}", file=sys.stderr)
        await audio.stop()
        return EXIT_REFUSED
    except (ServerUnreachable, TlsFailed) as exc:
        print(f"voxroom-bot: {exc}", file=sys.stderr)
        await audio.stop()
        return EXIT_UNREACHABLE
    if not args.json:  # with --json, the room-joined event said it
        print(f"* joined {joined.room} as {joined.username} ({len(joined.peers)} others here)", flush=True)
    try:
        requests = moderation(args, joined.peers)
    except ValueError as exc:
        print(f"voxroom-bot: {exc}", file=sys.stderr)
        await engine.leave()
        return EXIT_USAGE
    for request in requests:
        engine.moderate(request)
    if args.mute:
        engine.set_muted(True)
    for text in args.say:
        engine.send_chat(text)
    read_lines(_chat_sender(engine))
    await _stay(done, args.duration)
    for report in list(reports):
        report.cancel()
    if failed:
        print(f"voxroom-bot: {failed[0].message}", file=sys.stderr)
        await engine.close()
        return EXIT_LOST
    await print_paths(engine, as_json=args.json)
    await engine.leave()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return EXIT_OK
    except (ValueError, OSError) as exc:
        print(f"voxroom-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
