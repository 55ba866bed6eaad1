"""A room's call through Janus (docs/protocol.md, "Media server"): real server, real Janus, real aiortc.

Janus runs in a namespace beside this one (``media_server`` fixture,
tests/support/media_site.py); the server runs in this process, and each
member is a websockets client with two aiortc connections driven here: one
that publishes a tone (or silence), one that receives what Janus offers and
decodes each stream, as tests/lab/janus_peer.py's peer does against Janus
directly.
"""

import asyncio
import contextlib
import json
import logging
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from websockets.exceptions import ConnectionClosed

from client_desktop.engine.media import Silence, Tone
from signaling_server import janus
from signaling_server.app import RunningServer
from signaling_server.janus import JanusClient
from signaling_server.media_rooms import UNREACHABLE

from .engine.audio import peaks_hz
from .lab.janus_peer import Downlink, Heard, Uplink, new_pc
from .support.media_site import API_SECRET, MediaServers
from .wsclient import Client

TIMEOUT_S = 15.0
RECORD_S = 1.0
TOLERANCE_HZ = 2.0
PRESENCE = ("peer-joined", "peer-left", "peer-state")


class Member:
    """A client of the room: its signaling, its sending and receiving connections, what it heard.

    A reader takes every message: ``media-offer`` is answered at once (the
    streams named by peer id), the rest waits in ``inbox`` for the test.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.heard = Heard()
        self.down = new_pc()
        self.downlink = Downlink(self.down, self.heard.feed)
        self.streams: dict[str, str] = {}
        """mid → peer id, as the last ``media-offer`` said."""
        self.up: RTCPeerConnection | None = None
        self.uplink: Uplink | None = None
        self.id = self.token = ""
        self._reader: asyncio.Task[None] | None = None

    async def join(self, room: str, name: str, **fields: Any) -> dict[str, Any]:
        joined = await self.client.join(room, name, **fields)
        self.id, self.token = joined["self"]["id"], joined["resume"]
        self._reader = asyncio.create_task(self._read())
        return joined

    async def away(self) -> None:
        """Lose the signaling connection (not the media ones): the place is in its grace."""
        assert self._reader is not None
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self.client.close()

    async def resume(self, url: str, room: str, name: str) -> dict[str, Any]:
        """Resume the place (after ``away``) on a new signaling connection."""
        self.client = await Client.open(url)
        return await self.join(room, name, media_server=True, resume=self.token)

    async def _read(self) -> None:
        while True:
            message = await self.client.recv(timeout=3600)
            if message["type"] == "media-offer":
                await self._answer(message)
            else:
                self.inbox.put_nowait(message)

    async def _answer(self, offer: dict[str, Any]) -> None:
        await self.down.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
        self.streams = {s["mid"]: s["peer"] for s in offer["streams"]}
        self.downlink.speakers = dict(self.streams)
        self.downlink.tap_new()
        await self.down.setLocalDescription(await self.down.createAnswer())
        await self.client.send({"type": "media-answer", "sdp": self.down.localDescription.sdp})

    async def expect(self, kind: str) -> dict[str, Any]:
        """The next message but presence, which must be of ``kind``."""
        while (message := await asyncio.wait_for(self.inbox.get(), TIMEOUT_S))["type"] in PRESENCE:
            pass
        assert message["type"] == kind, message
        return message

    async def publish(self, tone_hz: float, superseding: str | None = None) -> None:
        """Send ``media-publish`` with one sendonly audio track playing ``tone_hz`` (0: silence).

        Publishing again starts afresh: new connections both ways (the next offer is for the new one).
        ``superseding``: an SDP published just before, with no wait, which this publish replaces.
        """
        if self.up is not None and self.uplink is not None:
            await self.uplink.stop()
            for pc in (self.up, self.down):
                await pc.close()
            self.down = new_pc()
            self.downlink = Downlink(self.down, self.heard.feed)
        self.uplink = Uplink(Tone(tone_hz) if tone_hz else Silence())
        self.up = new_pc()
        self.up.addTransceiver(self.uplink.track, direction="sendonly")
        await self.up.setLocalDescription(await self.up.createOffer())
        if superseding is not None:
            await self.client.send({"type": "media-publish", "sdp": superseding})
        await self.client.send({"type": "media-publish", "sdp": self.up.localDescription.sdp})
        answer = await self.expect("media-published")
        await self.up.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

    async def hears(self, speakers: set[str]) -> dict[str, float]:
        """Once ``RECORD_S`` of each of ``speakers`` is decoded: the strongest frequency of each stream."""
        async with asyncio.timeout(TIMEOUT_S):
            while not all(self.heard.seconds(s) >= RECORD_S for s in speakers):
                await asyncio.sleep(0.1)
        return {s: peaks_hz(self.heard.last(s, RECORD_S))[0] for s in self.heard.frames}

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):  # closed by the server
                await self._reader
        if self.uplink is not None:
            await self.uplink.stop()
        for pc in (self.up, self.down):
            if pc is not None:
                await pc.close()
        await self.client.close()


@contextlib.asynccontextmanager
async def members(server: RunningServer) -> AsyncIterator[list[Member]]:
    """Members made with ``made.append(Member(await Client.open(url)))``; all closed at the end."""
    made: list[Member] = []
    try:
        yield made
    finally:
        await asyncio.gather(*(m.close() for m in made), return_exceptions=True)


async def member(made: list[Member], server: RunningServer) -> Member:
    made.append(Member(await Client.open(server.url)))
    return made[-1]


def health(server: RunningServer) -> dict[str, Any]:
    url = server.url.replace("ws://", "http://").replace("/ws", "/health")
    with urllib.request.urlopen(url, timeout=5) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


async def reachable(server: RunningServer) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        while (await asyncio.to_thread(health, server)).get("media_server") != "reachable":
            await asyncio.sleep(0.1)


async def test_each_member_hears_every_other_voice_of_its_room_by_peer_and_not_its_own(
    media_server: MediaServers,
) -> None:
    server = await media_server(mesh_limit=0)
    await reachable(server)
    tones = {"ann": 440.0, "bob": 660.0, "cid": 0.0, "eve": 880.0, "fay": 0.0}
    async with members(server) as made:
        ids = {}
        for name, hz in tones.items():
            m = await member(made, server)
            joined = await m.join("other" if name in ("eve", "fay") else "lobby", name, media_server=True)
            assert joined["media"] == "server"
            ids[name] = m.id
            await m.publish(hz)
        ann, bob, cid, eve, fay = made
        heard = {
            "ann": await ann.hears({bob.id}),
            "bob": await bob.hears({ann.id}),
            "cid": await cid.hears({ann.id, bob.id}),
            "fay": await fay.hears({eve.id}),
        }
        assert set(cid.streams.values()) == {ann.id, bob.id}
        assert set(ann.streams.values()) == {bob.id, cid.id}
        assert set(fay.streams.values()) == {eve.id}  # another room's voices are never offered
        assert set(eve.streams.values()) == {fay.id}
        await cid.away()
        dan = await member(made, server)  # a voice arrives while cid is away: its offer to cid is lost
        await dan.join("lobby", "dan", media_server=True)
        await dan.publish(550.0)
        async with asyncio.timeout(TIMEOUT_S):
            while dan.id not in bob.streams.values():  # offered to bob, so to cid as well
                await asyncio.sleep(0.1)
        resumed = await cid.resume(server.url, "lobby", "cid")
        assert (resumed["resumed"], resumed["media"]) == (True, "server")
        before = cid.heard.seconds(bob.id)
        missed = await cid.hears({dan.id})  # the offer it missed, sent again at the resume
        assert abs(missed[dan.id] - 550.0) <= TOLERANCE_HZ, missed
        async with asyncio.timeout(TIMEOUT_S):  # its Janus handles outlived the connection
            while cid.heard.seconds(bob.id) < before + RECORD_S:
                await asyncio.sleep(0.1)
        await ann.client.send({"type": "leave"})
        async with asyncio.timeout(TIMEOUT_S):  # Janus re-offers without ann's stream
            while set(cid.streams.values()) != {bob.id, dan.id}:
                await asyncio.sleep(0.1)
        for name, peaks in heard.items():
            assert ids[name] not in peaks, heard
            for speaker, peak in peaks.items():
                speaker_name = next(n for n, i in ids.items() if i == speaker)
                if tones[speaker_name]:
                    assert abs(peak - tones[speaker_name]) <= TOLERANCE_HZ, heard


async def test_the_third_voice_moves_the_call_and_requests_outside_it_are_refused(
    media_server: MediaServers,
) -> None:
    server = await media_server(mesh_limit=2)
    async with members(server) as made:
        ann, bob, old, quiet = [await member(made, server) for _ in range(4)]
        assert "media" not in await ann.join("lobby", "ann", media_server=True)  # "mesh" is left out
        await bob.join("lobby", "bob", media_server=True)
        await bob.client.send({"type": "media-publish", "sdp": "v=0"})
        refused = await bob.expect("error")
        assert (refused["code"], refused["ref"]) == ("bad-message", "media-publish")
        await old.join("lobby", "old")  # a v1 client, and the third voice
        assert (await old.expect("error"))["code"] == "media-unsupported"
        for asked in (ann, bob):
            assert await asked.expect("media") == {"type": "media", "mode": "server"}
        joined = await quiet.join("lobby", "quiet", media_server=True, voice=False)
        assert joined["media"] == "server"
        for client, ref in ((quiet, "media-publish"), (old, "media-answer")):
            await client.client.send({"type": ref, "sdp": "v=0"})
            refused = await client.expect("error")
            assert (refused["code"], refused["ref"]) == ("bad-message", ref), refused
        await bob.client.send({"type": "media-publish", "sdp": "v=0"})  # well formed, but no SDP
        refused = await bob.expect("error")
        assert (refused["code"], refused["ref"]) == ("media-failed", "media-publish"), refused
        assert refused["message"].startswith("the media server refused your audio")
        await ann.publish(440.0)
        await bob.publish(0.0, superseding="v=0")  # refused after the second took its place: not said
        assert abs((await bob.hears({ann.id}))[ann.id] - 440.0) <= TOLERANCE_HZ


async def test_janus_lost_is_told_and_the_call_comes_back_with_it(media_server: MediaServers) -> None:
    server = await media_server(mesh_limit=0)
    await reachable(server)
    async with members(server) as made:
        ann, bob = [await member(made, server) for _ in range(2)]
        for m, name, hz in ((ann, "ann", 440.0), (bob, "bob", 0.0)):
            await m.join("lobby", name, media_server=True)
            await m.publish(hz)
        await bob.hears({ann.id})
        await asyncio.to_thread(media_server.janus.kill)
        for m in (ann, bob):
            failed = await m.expect("error")
            assert failed["code"] == "media-failed", failed
            assert "unreachable" in failed["message"]
        assert (await asyncio.to_thread(health, server))["media_server"] == "unreachable"
        await asyncio.to_thread(media_server.janus.start)
        for m in (ann, bob):
            assert await m.expect("media") == {"type": "media", "mode": "server"}
        bob.heard.frames.clear()
        await ann.publish(440.0)
        await bob.publish(0.0)
        assert abs((await bob.hears({ann.id}))[ann.id] - 440.0) <= TOLERANCE_HZ


async def test_janus_lost_a_room_small_enough_falls_back_to_the_mesh_until_it_grows_again(
    media_server: MediaServers,
) -> None:
    server = await media_server(mesh_limit=2)
    await reachable(server)
    async with members(server) as made:
        ann, bob, cid, dan = [await member(made, server) for _ in range(4)]
        await ann.join("lobby", "ann", media_server=True)
        await bob.join("lobby", "bob", media_server=True)
        assert (await cid.join("lobby", "cid", media_server=True))["media"] == "server"  # the third voice
        for m in (ann, bob):
            assert await m.expect("media") == {"type": "media", "mode": "server"}
        await cid.client.send({"type": "leave"})  # 2 voices: the room stays on the media server
        await asyncio.to_thread(media_server.janus.kill)
        for m in (ann, bob):
            assert await m.expect("media") == {"type": "media", "mode": "mesh"}
        offer = {"kind": "offer", "sdp": "v=0\r\n"}  # the smaller id offers (docs/protocol.md)
        first, second = sorted((ann, bob), key=lambda m: m.id)
        await first.client.send({"type": "signal", "target": second.id, "payload": offer})
        assert await second.expect("signal") == {"type": "signal", "from": first.id, "payload": offer}
        await asyncio.to_thread(media_server.janus.start)
        await reachable(server)
        assert (await dan.join("lobby", "dan", media_server=True))[
            "media"
        ] == "server"  # past the limit again
        for m in (ann, bob):
            assert await m.expect("media") == {"type": "media", "mode": "server"}


async def test_a_session_janus_no_longer_has_is_lost_at_its_next_keepalive(
    media_server: MediaServers, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(janus, "KEEPALIVE_S", 0.2)
    caplog.set_level(logging.INFO, "voxroom.server.media")
    server = await media_server(mesh_limit=0)
    await reachable(server)
    (session,) = [r.args[1] for r in caplog.records if r.msg.startswith("media server reachable")]  # type: ignore[index]
    async with members(server) as made:
        ann = await member(made, server)
        assert (await ann.join("lobby", "ann", media_server=True))["media"] == "server"
        async with await JanusClient.connect(media_server.janus.url, api_secret=API_SECRET) as other:
            await other.request({"janus": "destroy", "session_id": session})  # Janus alive, the session gone
        failed = await ann.expect("error")
        assert (failed["code"], failed["message"]) == ("media-failed", UNREACHABLE)
        assert await ann.expect("media") == {"type": "media", "mode": "server"}  # a new session
