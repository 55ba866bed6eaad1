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
"""

import argparse
import asyncio
import contextlib
import logging
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import assert_never

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


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="voxroom-bot",
        description="Join a Voxroom room headless: play audio into the call, record what it hears.",
        epilog="Exit codes: 0 done, 2 usage, 3 join refused (password, name, room full), "
        "4 server unreachable (or its certificate not trusted), 5 connection lost for good. "
        "Each call's path is printed when it connects and at the end: "
        "'* call with NAME: direct|relayed over udp|tcp|tls (LOCAL to REMOTE candidate), rtt N ms'.",
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


async def print_paths(engine: Engine, peer_id: str | None = None) -> None:
    """Print ``path_line`` for ``peer_id``'s call, or for every call."""
    for stats in await engine.call_stats():
        if peer_id in (None, stats.peer_id):
            peer = engine.peers.get(stats.peer_id)
            print(path_line(peer.username if peer else stats.peer_id, stats), flush=True)


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


async def run(args: argparse.Namespace) -> int:
    failed: list[events.ConnectionFailed] = []
    reports: set[asyncio.Task[None]] = set()

    def on_event(event: events.EngineEvent) -> None:
        _print_event(event)
        if isinstance(event, events.ConnectionFailed):
            failed.append(event)
            done.set()
        elif isinstance(event, events.CallStateChanged) and event.state is events.CallState.CONNECTED:
            report = asyncio.create_task(print_paths(engine, event.peer_id))
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
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), args.duration)
    for report in list(reports):
        report.cancel()
    if failed:
        print(f"voxroom-bot: {failed[0].message}", file=sys.stderr)
        await engine.close()
        return EXIT_LOST
    await print_paths(engine)
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
