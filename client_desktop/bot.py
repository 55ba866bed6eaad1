"""``voxroom-bot``: a headless client. Plays a file or tone into a room, records what it hears.

It runs the same engine as the desktop app, with the sound card replaced by
a 20 ms pacer: a test client, a load generator, a room's jukebox.

When a call connects, and again at the end of the run, it prints one line
per person on stdout saying how the audio travels (``PATH_LINE`` below)::

    * call with bob: direct over udp (srflx to srflx), rtt 3 ms
    * call with bob: relayed over tcp (relay to srflx), rtt unknown
    * call with bob: not connected (connecting)

``relayed`` means a TURN relay carries the audio; the protocol is how our
packets leave us (to the relay when ours is the relayed candidate); the round
trip is unknown until the peer's first receiver report echoes ours.

For scripts and tests, ``--json`` prints every engine event (and each call's
path, as ``peer-call-stats``) as one JSON object per line instead (``JSON_HELP``
below), and every line of standard input is sent as a chat, so a script can
make the bot talk mid-call.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import os
import re
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import assert_never, get_args

import msgspec

from protocol import Ban, Kick, LockRoom, ModRequest, Peer, ServerMute, limits, name_key

from .engine import events
from .engine.call_stats import PeerCallStats
from .engine.devices import DeviceAudio
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

PATH_LINE = re.compile(
    r"\* call with (?P<name>.+?): (?:(?P<route>direct|relayed) over (?P<protocol>udp|tcp|tls) "
    r"\((?P<local>\w+) to (?P<remote>\w+)\), rtt (?:(?P<rtt_ms>\d+) ms|unknown)"
    r"|not connected \((?P<state>\w+)\))$"
)
"""What ``path_line`` prints, for scripts and tests that read the bot's stdout."""
HELP_WIDTH = 79


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


JSON_TYPES = [_kebab(kind.__name__) for kind in (*get_args(events.EngineEvent), PeerCallStats)]
"""Every ``type`` a ``--json`` line can have: the engine's events, and each call's path."""
JSON_HELP = (
    "With --json, stdout carries one JSON object per line instead: "
    '{"type": TYPE, FIELD: VALUE ...}, TYPE the class name in kebab case, one of '
    + ", ".join(JSON_TYPES)
    + "; the fields are those of the engine's events (client_desktop/engine/events.py) and of "
    "PeerCallStats (client_desktop/engine/call_stats.py), peers and chats as the protocol writes them "
    "(every field), enums as their values. levels-changed comes every 100 ms."
)
STDIN_HELP = (
    "Every line of standard input is sent as a chat (blank lines are skipped); "
    "its end changes nothing (the bot stays for --duration)."
)


def json_line(value: object) -> str:
    """An engine event (or a call's ``PeerCallStats``) as one line of JSON, as ``JSON_HELP`` says."""
    fields = _plain(value)
    assert isinstance(fields, dict), value
    return json.dumps({"type": _kebab(type(value).__name__), **fields}, ensure_ascii=False)


def _plain(value: object) -> object:
    """JSON's values for ours: every field of a dataclass, and of a protocol struct by its wire name."""
    if isinstance(value, msgspec.Struct):
        return {f.encode_name: _plain(getattr(value, f.name)) for f in msgspec.structs.fields(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no infinity
    return value


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
        lambda message, fallback: on_event(events.AudioDeviceFailed(message, fallback)),
        processor=VoiceProcessor(settings),
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


def path_line(name: str, stats: PeerCallStats) -> str:
    """One person's call in words: direct or relayed, over what, between which candidates, and its RTT."""
    path = stats.path
    if path is None:
        return f"* call with {name}: not connected ({stats.state})"
    route = "relayed" if path.relayed else "direct"
    rtt = "unknown" if stats.rtt_ms is None else f"{stats.rtt_ms:.0f} ms"
    return f"* call with {name}: {route} over {path.protocol} ({path.local} to {path.remote}), rtt {rtt}"


async def print_paths(engine: Engine, peer_id: str | None = None, *, as_json: bool = False) -> None:
    """Print ``path_line`` (``as_json``: a ``peer-call-stats`` line) for ``peer_id``'s call, or every call."""
    for stats in await engine.call_stats():
        if peer_id in (None, stats.peer_id):
            peer = engine.peers.get(stats.peer_id)
            name = peer.username if peer else stats.peer_id
            print(json_line(stats) if as_json else path_line(name, stats), flush=True)


def _print_json(event: events.EngineEvent) -> None:
    print(json_line(event), flush=True)


def _print_event(event: events.EngineEvent) -> None:
    match event:
        case events.ChatReceived():
            chat = event.chat
            stamp = time.strftime("%H:%M:%S", time.localtime(chat.ts / 1000))
            print(f"[{stamp}] {chat.username}: {chat.text}", flush=True)
        case events.PeerArrived():
            print(f"* {event.peer.username} joined", flush=True)
        case events.RoomModerated():
            print(f"* {event.text}", flush=True)
        case events.ServerError():
            print(f"* server: {event.message}", file=sys.stderr, flush=True)
        case events.RelayUnusable():
            print(f"* relay: {event.message}", file=sys.stderr, flush=True)
        case events.AudioDeviceFailed():
            print(
                f"* audio: {event.message}; using {event.fallback or 'no audio'}", file=sys.stderr, flush=True
            )
        case events.ConnectionLost():
            print(
                f"* connection lost ({event.reason}); retrying in {event.retry_in_s:g} s",
                file=sys.stderr,
                flush=True,
            )
        case (
            events.RoomJoined()
            | events.PeerDeparted()
            | events.PeerUpdated()
            | events.ConnectionFailed()
            | events.CallStateChanged()
            | events.LevelsChanged()
        ):
            pass  # the join and a final failure are printed by run(); the rest is noise on a console
        case _:
            assert_never(event)


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


async def run(args: argparse.Namespace) -> int:
    failed: list[events.ConnectionFailed] = []
    reports: set[asyncio.Task[None]] = set()

    show = _print_json if args.json else _print_event

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
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), args.duration)
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
