"""One aiortc client of a Janus room, as the Voxroom engine would be: sends one stream, hears each speaker.

Sending, a 20 ms pacer encodes the source once with our libopus encoder into
a ``PacketTrack``; receiving, every receiver is tapped (``rtp.tap_receiver``)
and decoded with our own decoder, one per stream, as the engine does. In a
VideoRoom the peer publishes on one handle and subscribes to every other
publisher on one more (a single multistream subscription, grown with
``subscribe`` as publishers appear and renegotiated on every ``updated``);
in an AudioBridge it has one sendrecv connection and hears the mix.

Run as ``python -m tests.lab.janus_peer`` inside the peers' namespace: it
joins, prints ``JSON {"heard": …}`` once it has heard ``--record-s`` of
every expected stream (or its time is up), and stays in the room, still
sending, until its stdin closes; then one last JSON line of counters. Each
line it reads before that is answered with the counters so far (bytes,
packets, CPU seconds), so a benchmark can take a window.
"""

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription

from client_desktop.engine.media import Silence, Source, Tone
from client_desktop.engine.opus import OpusDecoder, OpusEncoder
from client_desktop.engine.pcm import FRAME_S, FRAME_SAMPLES, Pcm
from client_desktop.engine.rtp import PacketTrack, tap_receiver
from signaling_server.janus import Handle, JanusClient, Json, Session, plugin_data

from ..engine.audio import peaks_hz
from ..support.janus import Plugin

OnAudio = Callable[[str, Pcm, float], None]
"""(speaker: a feed's display name, or ``mix``; 20 ms of decoded audio; ``time.monotonic()`` at decode)"""
OnCapture = Callable[[Pcm, float], None]
MIX = "mix"
_COUNTERS = {
    "bytes_sent": "bytesSent",
    "bytes_received": "bytesReceived",
    "packets_sent": "packetsSent",
    "packets_received": "packetsReceived",
}


def new_pc() -> RTCPeerConnection:
    """No STUN: Janus and its peers share a subnet, and a STUN server that does not answer costs 5 s."""
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


def _jsep(pc: RTCPeerConnection) -> Json:
    description = pc.localDescription
    return {"type": description.type, "sdp": description.sdp}


class Uplink:
    """Reads ``source`` every 20 ms, encodes it once, and puts it on ``track`` (stamping each capture)."""

    def __init__(self, source: Source, on_capture: OnCapture | None = None) -> None:
        self.track = PacketTrack()
        self._source, self._on_capture = source, on_capture
        self._encoder = OpusEncoder()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due, pts = loop.time(), 0
        while True:
            frame = self._source.read()
            if self._on_capture is not None:
                self._on_capture(frame, time.monotonic())
            self.track.put(self._encoder.encode(frame), pts)
            pts += FRAME_SAMPLES
            due += FRAME_S
            await asyncio.sleep(max(0.0, due - loop.time()))

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.track.stop()
        self._encoder.close()


@dataclass
class Downlink:
    """Taps every receiver of ``pc`` once, decoding each with a decoder of its own."""

    pc: RTCPeerConnection
    on_audio: OnAudio
    speakers: dict[str, str] = field(default_factory=dict)
    """mid → speaker, from Janus's ``streams`` (VideoRoom) or ``MIX``."""
    _tapped: set[int] = field(default_factory=set)

    def tap_new(self) -> None:
        """After each ``setRemoteDescription``: receivers that are new get a tap and a decoder."""
        for transceiver in self.pc.getTransceivers():
            if id(transceiver) not in self._tapped:
                self._tapped.add(id(transceiver))
                tap_receiver(transceiver.receiver, self._on_packet(transceiver))

    def _on_packet(self, transceiver: RTCRtpTransceiver) -> Callable[[int, int, bytes], None]:
        decoder = OpusDecoder()

        def decode(seq: int, timestamp: int, payload: bytes) -> None:
            speaker = self.speakers.get(transceiver.mid or "")
            if speaker is not None:
                self.on_audio(speaker, decoder.decode(payload), time.monotonic())

        return decode


class Peer:
    """One participant: ``join`` then ``leave``. ``pin`` is the room's join password.

    Raises (from ``join``): ``JanusError`` when Janus or the room refuses.
    """

    def __init__(self, session: Session, kind: Plugin, room: int, pin: str, name: str) -> None:
        self.session, self.kind, self.room, self.pin, self.name = session, kind, room, pin, name
        self.pcs: list[RTCPeerConnection] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._uplink: Uplink | None = None
        self._subscriber: tuple[Handle, RTCPeerConnection, Downlink] | None = None
        self._feeds: dict[int, str] = {}
        """Feed id → display name: publishers we subscribed to."""
        self._subscribing = asyncio.Lock()
        """Joining and the publisher watcher both subscribe: one at a time, or two subscriptions."""

    async def join(self, source: Source, on_audio: OnAudio, on_capture: OnCapture | None = None) -> None:
        self._uplink = Uplink(source, on_capture)
        handle = await self.session.attach(self.kind.value)
        pc = new_pc()
        self.pcs.append(pc)
        if self.kind is Plugin.VIDEOROOM:
            pc.addTransceiver(self._uplink.track, direction="sendonly")
            joined = await handle.message(
                {
                    "request": "join",
                    "ptype": "publisher",
                    "room": self.room,
                    "pin": self.pin,
                    "display": self.name,
                }
            )
            await pc.setLocalDescription(await pc.createOffer())
            reply = await handle.message({"request": "publish", "audio_codec": "opus"}, _jsep(pc))
            assert reply.jsep is not None, reply
            await pc.setRemoteDescription(RTCSessionDescription(**reply.jsep))
            await self._subscribe(joined.data.get("publishers", []), on_audio)
            self._tasks.append(asyncio.create_task(self._watch_publishers(handle, on_audio)))
        else:
            pc.addTransceiver(self._uplink.track, direction="sendrecv")
            downlink = Downlink(pc, on_audio)
            await handle.message(
                {"request": "join", "room": self.room, "pin": self.pin, "display": self.name}
            )
            await pc.setLocalDescription(await pc.createOffer())
            reply = await handle.message({"request": "configure", "muted": False}, _jsep(pc))
            assert reply.jsep is not None, reply
            await pc.setRemoteDescription(RTCSessionDescription(**reply.jsep))
            downlink.speakers = {t.mid or "": MIX for t in pc.getTransceivers()}
            downlink.tap_new()

    async def _watch_publishers(self, handle: Handle, on_audio: OnAudio) -> None:
        """New publishers (``publishers`` in an event on the publisher handle) join our subscription."""
        async for message in handle.events():
            if publishers := plugin_data(message).get("publishers"):
                await self._subscribe(publishers, on_audio)

    async def _subscribe(self, publishers: list[Json], on_audio: OnAudio) -> None:
        """Add ``publishers``' audio to our one subscription: ``join`` the first time, ``subscribe`` after."""
        async with self._subscribing:
            await self._subscribe_locked(publishers, on_audio)

    async def _subscribe_locked(self, publishers: list[Json], on_audio: OnAudio) -> None:
        new = [p for p in publishers if p["id"] not in self._feeds]
        if not new:
            return
        self._feeds.update({p["id"]: p.get("display", str(p["id"])) for p in new})
        streams = [{"feed": p["id"]} for p in new]
        if self._subscriber is None:
            handle = await self.session.attach(self.kind.value)
            pc = new_pc()
            self.pcs.append(pc)
            downlink = Downlink(pc, on_audio)
            self._subscriber = handle, pc, downlink
            body = {
                "request": "join",
                "ptype": "subscriber",
                "room": self.room,
                "pin": self.pin,
                "streams": streams,
            }
            reply = await handle.message(body)
            self._tasks.append(asyncio.create_task(self._watch_updates(handle)))
        else:
            handle, pc, downlink = self._subscriber
            reply = await handle.message({"request": "subscribe", "streams": streams})
        await self._answer(reply.data, reply.jsep)

    async def _watch_updates(self, handle: Handle) -> None:
        """Janus re-offers by itself when a publisher we hear leaves (an unsolicited ``updated``)."""
        async for message in handle.events():
            if message.get("jsep"):
                await self._answer(plugin_data(message), message["jsep"])

    async def _answer(self, data: Json, jsep: Json | None) -> None:
        """Apply Janus's offer (``attached`` or ``updated``), map its mids to speakers, and ``start``."""
        assert self._subscriber is not None
        assert jsep is not None, data
        handle, pc, downlink = self._subscriber
        await pc.setRemoteDescription(RTCSessionDescription(**jsep))
        for stream in data.get("streams", []):
            if stream.get("active", True) and "feed_id" in stream:
                downlink.speakers[stream["mid"]] = self._feeds.get(stream["feed_id"], str(stream["feed_id"]))
        downlink.tap_new()
        await pc.setLocalDescription(await pc.createAnswer())
        await handle.message({"request": "start"}, _jsep(pc))

    async def counters(self) -> dict[str, int]:
        """Bytes and packets on the wire, all this peer's connections together (aiortc's transport stats)."""
        totals = dict.fromkeys(_COUNTERS, 0)
        for pc in self.pcs:
            for stats in (await pc.getStats()).values():
                if stats.type == "transport":
                    for key, attribute in _COUNTERS.items():
                        totals[key] += getattr(stats, attribute)
        return totals

    async def leave(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._uplink is not None:
            await self._uplink.stop()
        for pc in self.pcs:
            await pc.close()


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Heard:
    """Keeps each speaker's decoded audio, to say what tone it carried."""

    def __init__(self) -> None:
        self.frames: dict[str, list[Pcm]] = {}

    def feed(self, speaker: str, pcm: Pcm, stamp: float) -> None:
        self.frames.setdefault(speaker, []).append(pcm)

    def seconds(self, speaker: str) -> float:
        return len(self.frames.get(speaker, [])) * FRAME_S

    def last(self, speaker: str, seconds: float) -> Pcm:
        frames = self.frames.get(speaker, [])[-int(seconds / FRAME_S) :]
        return np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)


async def run(args: argparse.Namespace) -> None:
    client = await JanusClient.connect(args.url, api_secret=args.api_secret, token=args.token)
    session = await client.create_session()
    peer = Peer(session, Plugin(args.plugin), args.room, args.pin, args.name)
    heard = Heard()
    await peer.join(Tone(args.tone) if args.tone else Silence(), heard.feed)
    deadline = time.monotonic() + args.timeout_s
    while time.monotonic() < deadline and not (
        len(heard.frames) >= args.speakers and all(heard.seconds(s) >= args.record_s for s in heard.frames)
    ):
        await asyncio.sleep(0.1)
    peaks = {s: peaks_hz(heard.last(s, args.record_s), 2) for s in heard.frames}
    print(json.dumps({"heard": peaks, "seconds": {s: heard.seconds(s) for s in heard.frames}}), flush=True)
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, sys.stdin.readline):  # a line: counters; closed: leave
        print(json.dumps(await counters(peer)), flush=True)
    last = await counters(peer)
    await peer.leave()
    await session.destroy()
    await client.close()
    print(json.dumps(last), flush=True)


async def counters(peer: Peer) -> dict[str, Any]:
    return {**await peer.counters(), "cpu_s": cpu_s(), "at": time.monotonic()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--api-secret")
    p.add_argument("--token")
    p.add_argument("--plugin", choices=[k.value for k in Plugin], required=True)
    p.add_argument("--room", type=int, required=True)
    p.add_argument("--pin", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--tone", type=float, default=0.0, help="Hz; 0: silence")
    p.add_argument("--speakers", type=int, default=0, help="streams to hear before reporting")
    p.add_argument("--record-s", type=float, default=2.0)
    p.add_argument("--timeout-s", type=float, default=20.0)
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
