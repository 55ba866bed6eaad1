"""Audio through Janus: each speaker forwarded (VideoRoom) or mixed (AudioBridge), and who is refused.

Janus runs in a namespace of its own (``janus_site``), three ``janus_peer``
processes in another, playing 440, 660 and 880 Hz. They join one after the
other, so a VideoRoom peer's single subscription starts with those already
there and grows with ``subscribe`` (and Janus's re-offer) as the others
publish. Each reports the strongest frequencies of every stream it decoded.
"""

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from signaling_server.janus import JanusError, signed_token

from ..support.janus import Plugin
from .janus_site import (
    ADMIN_KEY,
    API_SECRET,
    TOKEN_SECRET,
    JanusSite,
    PeerProcess,
    api_client,
    create_room,
    janus_site,
    peers,
    start_peer,
)

TONES = {"a": 440.0, "b": 660.0, "c": 880.0}
TOLERANCE_HZ = 2.0
ROOM, PIN = 1234, "room-pin"
JOIN_GAP_S = 0.5
"""Between the peers' starts: later publishers reach earlier ones through ``subscribe``."""


@pytest.fixture(autouse=True)
def janus_installed() -> None:
    if shutil.which("janus") is None:
        pytest.skip("the Janus cases need janus (apt-get install janus)")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[JanusSite]:
    with janus_site(tmp_path) as site:
        yield site


async def three_peers(site: JanusSite, plugin: Plugin, speakers: int) -> dict[str, dict[str, list[float]]]:
    """Run a, b and c in ``ROOM``; each one's report of peaks per speaker heard."""
    await create_room(site, plugin, ROOM, PIN)
    started: list[PeerProcess] = []
    async with peers(started):
        for name, hz in TONES.items():
            started.append(await start_peer(site, plugin, ROOM, PIN, name, hz, speakers))
            await asyncio.sleep(JOIN_GAP_S)
        reports = [await peer.report() for peer in started]
        for peer in started:
            assert (await peer.finish())["bytes_received"] > 0
    return {peer.name: report["heard"] for peer, report in zip(started, reports, strict=True)}


def near(found: list[float], wanted: set[float]) -> bool:
    return len(found) == len(wanted) and all(min(abs(f - w) for w in wanted) <= TOLERANCE_HZ for f in found)


async def test_videoroom_forwards_each_speaker_on_one_subscription(site: JanusSite) -> None:
    heard = await three_peers(site, Plugin.VIDEOROOM, speakers=2)
    for name, streams in heard.items():
        assert set(streams) == set(TONES) - {name}, heard
        for speaker, peaks in streams.items():
            assert near(peaks[:1], {TONES[speaker]}), heard


async def test_audiobridge_mixes_everyone_but_the_listener(site: JanusSite) -> None:
    heard = await three_peers(site, Plugin.AUDIOBRIDGE, speakers=1)
    for name, streams in heard.items():
        assert set(streams) == {"mix"}, heard
        assert near(streams["mix"], {hz for other, hz in TONES.items() if other != name}), heard


async def refusal(site: JanusSite, plugin: Plugin, body: dict[str, object], **auth: str) -> int:
    """The code Janus or ``plugin`` refuses ``body`` with (0: accepted)."""
    try:
        async with api_client(site, **auth) as client:
            session = await client.create_session()
            handle = await session.attach(plugin.value)
            await handle.message(body)
            await session.destroy()
    except JanusError as exc:
        return exc.code
    return 0


async def test_strangers_are_refused(site: JanusSite) -> None:
    for plugin in Plugin:
        await create_room(site, plugin, ROOM, PIN)
    publisher = {"request": "join", "ptype": "publisher", "room": ROOM, "display": "x"}
    secret = {"api_secret": API_SECRET}
    # Janus's own gate: the API secret or a token signed with its secret, scoped to the plugin.
    assert await refusal(site, Plugin.VIDEOROOM, {**publisher, "pin": PIN}, api_secret="wrong") == 403
    foreign = signed_token("wrong", [Plugin.VIDEOROOM.value], 60)
    assert await refusal(site, Plugin.VIDEOROOM, {**publisher, "pin": PIN}, token=foreign) == 403
    expired = signed_token(TOKEN_SECRET, [Plugin.VIDEOROOM.value], -1)
    assert await refusal(site, Plugin.VIDEOROOM, {**publisher, "pin": PIN}, token=expired) == 403
    bridge_only = signed_token(TOKEN_SECRET, [Plugin.AUDIOBRIDGE.value], 60)
    assert await refusal(site, Plugin.VIDEOROOM, {**publisher, "pin": PIN}, token=bridge_only) == 405
    good = signed_token(TOKEN_SECRET, [Plugin.VIDEOROOM.value], 60)
    assert await refusal(site, Plugin.VIDEOROOM, {**publisher, "pin": PIN}, token=good) == 0
    # The rooms' gate: the pin to join, as publisher or subscriber; admin_key to create.
    assert await refusal(site, Plugin.VIDEOROOM, {**publisher, "pin": "wrong"}, **secret) == 433
    assert await refusal(site, Plugin.VIDEOROOM, publisher, **secret) == 429  # pin missing
    subscriber = {
        "request": "join",
        "ptype": "subscriber",
        "room": ROOM,
        "pin": "wrong",
        "streams": [{"feed": 1}],
    }
    assert await refusal(site, Plugin.VIDEOROOM, subscriber, **secret) == 433
    bridge = {"request": "join", "room": ROOM, "display": "x", "pin": "wrong"}
    assert await refusal(site, Plugin.AUDIOBRIDGE, bridge, **secret) == 489  # its own code for it
    create = {"request": "create", "room": ROOM + 1, "admin_key": "wrong"}
    assert await refusal(site, Plugin.VIDEOROOM, create, **secret) == 433
    assert await refusal(site, Plugin.VIDEOROOM, {**create, "admin_key": ADMIN_KEY}, **secret) == 0


async def test_a_keepalive_is_answered(site: JanusSite) -> None:
    async with api_client(site, api_secret=API_SECRET) as client:
        session = await client.create_session()
        await session.keepalive()  # its answer is an ack alone
        await session.destroy()
        with pytest.raises(JanusError) as gone:
            await session.keepalive()
        assert gone.value.code == 458  # no such session


async def test_restart_serves_on_the_same_address(site: JanusSite) -> None:
    first = site.janus.pid
    await asyncio.to_thread(site.janus.kill)
    await asyncio.to_thread(site.janus.restart)
    assert site.janus.pid != first
    async with api_client(site, api_secret=API_SECRET) as client:
        session = await client.create_session()
        await session.destroy()
