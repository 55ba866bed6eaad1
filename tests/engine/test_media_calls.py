"""Engines in calls through the room's media server: real server, real Janus, real aiortc.

Janus runs in a namespace beside this one (the ``media_server`` fixture,
tests/support/media_site.py); the bots are whole engines on the 20 ms audio
clock, as in test_call.py. No test sleeps for a fixed time: each waits for
what it expects, and judges audio by its spectrum on the bots' own clock.
"""

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import numpy as np

from client_desktop.engine import events
from client_desktop.engine.call_rules import CallTiming
from client_desktop.engine.media import Tone, read_wav
from client_desktop.engine.pcm import FRAME_SAMPLES
from protocol import ErrorCode, MediaMode
from signaling_server import janus
from signaling_server.app import RunningServer
from signaling_server.media import CLOSE_TIMEOUT_S

from ..support.media_site import MediaServers
from .audio import band_db, peaks_hz, rms_db
from .calls import TONE_DBFS, TONE_RMS_DBFS, Bot, BotFactory, tones_in, until
from .test_bot import bot as run_bot

QUIET_DBFS = -60.0
"""A 20 ms frame below this carries nothing of the call."""
MAX_GAP_FRAMES = 50
"""The longest the call may go quiet while it moves to the media server: 1 s of frames."""


async def media_server_on(media_server: MediaServers, mesh_limit: int) -> RunningServer:
    """A server that already holds its session with Janus, as one deployed has long had."""
    server = await media_server(mesh_limit=mesh_limit)
    await until(lambda: server.media is not None and server.media.reachable)
    return server


async def talking_pair(
    media_server: MediaServers, bots: BotFactory, mesh_limit: int
) -> tuple[RunningServer, Bot, Bot]:
    """A server with ``mesh_limit`` and two bots in its room, ``a`` at 400 Hz and ``b`` at 600 Hz."""
    server = await media_server_on(media_server, mesh_limit)
    a = await bots("a", Tone(400, TONE_DBFS), url=server.url)
    b = await bots("b", Tone(600, TONE_DBFS), url=server.url)
    return server, a, b


def through_media_server(*bots: Bot) -> bool:
    """Every bot hears every other through the media server, and none keeps a mesh call."""
    return all(
        b.engine.media_mode is MediaMode.SERVER
        and len(b.engine.connected_peers) == len(bots) - 1
        and all(b.engine.offerer(peer) is None for peer in b.engine.connected_peers)
        for b in bots
    )


def longest_quiet_run(frames: np.ndarray) -> int:
    """The longest run of consecutive quiet 20 ms frames in ``frames``."""
    longest = run = 0
    for frame in frames.reshape(-1, FRAME_SAMPLES):
        run = run + 1 if rms_db(frame) < QUIET_DBFS else 0
        longest = max(longest, run)
    return longest


async def test_three_engines_hear_each_other_through_the_media_server(
    media_server: MediaServers, bots: BotFactory
) -> None:
    server, a, b = await talking_pair(media_server, bots, mesh_limit=0)
    c = await bots("c", url=server.url)  # listens (sends silence)
    await until(lambda: through_media_server(a, b, c), timeout=20)
    await a.hears(600.0)
    await b.hears(400.0)
    await c.hears(400.0, 600.0, seconds=1.0)
    heard_by_a = await a.record(1.0)
    assert tones_in(heard_by_a, (600.0,))
    assert band_db(heard_by_a, 400.0) < TONE_RMS_DBFS - 30  # nobody hears themselves
    assert a.engine.self_id is not None
    rows = await c.engine.call_stats()  # one row per voice, on the receiving connection's path
    assert sorted(row.peer_id for row in rows) == sorted([a.engine.self_id, b.engine.self_id or ""])
    assert all(row.path is not None and row.playout_delay_ms is not None for row in rows), rows
    c.engine.set_peer_gain(a.engine.self_id, 0.0)  # each voice is its own stream, on its own peer id
    await c.heard_until(lambda heard: band_db(heard, 400.0) < TONE_RMS_DBFS - 30)
    assert tones_in(await c.record(1.0), (600.0,))


async def test_voice_off_leaves_the_media_server_s_call_and_voice_on_publishes_again(
    media_server: MediaServers, bots: BotFactory
) -> None:
    _, a, b = await talking_pair(media_server, bots, mesh_limit=0)
    await until(lambda: through_media_server(a, b), timeout=20)
    a.engine.set_voice(False)
    await until(lambda: not a.engine.connected_peers and not b.engine.connected_peers)
    await b.heard_until(lambda heard: band_db(heard, 400.0) < TONE_RMS_DBFS - 30)
    a.engine.set_voice(True)
    await until(lambda: through_media_server(a, b), timeout=20)
    await a.hears(600.0)
    await b.hears(400.0)


async def test_a_voice_that_takes_a_freed_stream_is_heard_by_those_who_stayed(
    media_server: MediaServers, bots: BotFactory
) -> None:
    """Janus gives a departed voice's stream (its mid) to the next newcomer, with a new SSRC."""
    server = await media_server_on(media_server, mesh_limit=0)
    a = await bots("a", url=server.url)
    b = await bots("b", Tone(600, TONE_DBFS), url=server.url)
    c = await bots("c", Tone(400, TONE_DBFS), url=server.url)
    await until(lambda: through_media_server(a, b, c), timeout=20)
    await a.hears(400.0, 600.0, seconds=1.0)
    await c.engine.leave()
    await until(lambda: through_media_server(a, b), timeout=20)
    d = await bots("d", Tone(800, TONE_DBFS), url=server.url)
    await until(lambda: through_media_server(a, b, d), timeout=20)
    await a.hears(600.0, 800.0, seconds=1.0)
    await b.hears(800.0)


async def test_a_mesh_call_moves_to_the_media_server_as_a_third_and_a_fourth_voice_join(
    media_server: MediaServers, bots: BotFactory
) -> None:
    server, a, b = await talking_pair(media_server, bots, mesh_limit=2)
    await until(lambda: len(a.engine.connected_peers) == len(b.engine.connected_peers) == 1)
    assert a.engine.media_mode is MediaMode.MESH
    await a.hears(600.0)
    await b.hears(400.0)
    marks = a.recorder.mark(), b.recorder.mark()
    c = await bots("c", url=server.url)
    await until(lambda: through_media_server(a, b, c), timeout=20)
    await c.hears(400.0, 600.0, seconds=1.0)
    d = await bots("d", url=server.url)  # already on the media server: it only grows
    await until(lambda: through_media_server(a, b, c, d), timeout=20)
    await d.hears(400.0, 600.0, seconds=1.0)
    await a.record(2.0)  # and on a while longer
    for bot, mark, tone in ((a, marks[0], 600.0), (b, marks[1], 400.0)):
        heard = bot.recorder.since(mark)
        seconds = heard[: len(heard) // 48_000 * 48_000].reshape(-1, 48_000)
        assert len(seconds) >= 3
        for second in seconds:  # the other's tone in every second of the switch
            assert band_db(second, tone) > TONE_RMS_DBFS - 6
        assert longest_quiet_run(heard) <= MAX_GAP_FRAMES


async def test_a_small_room_falls_back_to_the_mesh_when_janus_dies(
    media_server: MediaServers, bots: BotFactory
) -> None:
    server, a, b = await talking_pair(media_server, bots, mesh_limit=2)
    c = await bots("c", url=server.url)
    await until(lambda: through_media_server(a, b, c), timeout=20)
    await c.engine.leave()  # two voices: small enough for the mesh
    await asyncio.to_thread(media_server.janus.kill)
    await until(lambda: a.engine.media_mode is b.engine.media_mode is MediaMode.MESH)
    await until(lambda: a.engine.offerer(b.engine.self_id or "") is not None)  # a mesh call again
    await a.hears(600.0)
    await b.hears(400.0)


async def test_a_big_room_waits_for_janus_and_publishes_again_when_it_is_back(
    media_server: MediaServers, bots: BotFactory
) -> None:
    _, a, b = await talking_pair(media_server, bots, mesh_limit=0)
    await until(lambda: through_media_server(a, b), timeout=20)
    await asyncio.to_thread(media_server.janus.kill)
    await a.heard_until(lambda heard: band_db(heard, 600.0) < TONE_RMS_DBFS - 30)
    assert any(isinstance(e, events.ServerError) and e.code == ErrorCode.MEDIA_FAILED for e in a.log)
    await asyncio.to_thread(media_server.janus.start)
    await a.hears(600.0)
    await b.hears(400.0)
    assert a.engine.media_mode is MediaMode.SERVER


async def test_a_media_port_that_cannot_be_reached_is_said(
    media_server: MediaServers, bots: BotFactory
) -> None:
    server = await media_server_on(media_server, mesh_limit=0)
    janus = media_server.janus
    assert janus.netns is not None
    drop_udp = ["ip", "netns", "exec", janus.netns, "iptables", "-I", "INPUT", "-p", "udp", "-j", "DROP"]
    await asyncio.to_thread(subprocess.run, drop_udp, check=True, timeout=10)  # gone with the namespace
    a = await bots("a", url=server.url, timing=CallTiming(answer_timeout_s=1.0))
    await until(lambda: events.MediaUnreachable() in a.log)
    assert a.engine.connected_peers == []


async def test_voxroom_bots_talk_through_the_media_server_unchanged(
    media_server: MediaServers, tmp_path: Path
) -> None:
    server = await media_server_on(media_server, mesh_limit=0)
    common = ["--server", server.url, "--room", "studio", "--duration", "4"]
    results = await asyncio.gather(
        *(
            run_bot(*common, "--username", name, "--tone", str(hz), "--record", str(tmp_path / f"{name}.wav"))
            for name, hz in (("ann", 500), ("ben", 700))
        )
    )
    assert [code for code, _, _ in results] == [0, 0], results
    for name, hz in (("ann", 700), ("ben", 500)):
        heard = read_wav(tmp_path / f"{name}.wav")
        assert abs(peaks_hz(heard[-48_000:])[0] - hz) <= 2


async def test_a_janus_that_stops_answering_does_not_hold_the_servers_shutdown(
    media_server: MediaServers, bots: BotFactory
) -> None:
    server, a, b = await talking_pair(media_server, bots, mesh_limit=0)
    await until(lambda: through_media_server(a, b), timeout=20)
    assert server.media is not None
    os.kill(media_server.janus.pid, signal.SIGSTOP)  # alive, and answers nothing
    try:
        # A request time-out (10 s) per handle and per room, one after the other, was 60 s here.
        async with asyncio.timeout(CLOSE_TIMEOUT_S + janus.CLOSE_TIMEOUT_S + 3.0):
            await server.media.close()
    finally:
        os.kill(media_server.janus.pid, signal.SIGCONT)
