"""Mouth-to-ear through Janus against a direct connection, run in the Janus lab's peers namespace.

bench/janus_bench.py starts it with the rooms made. One process holds both
ends of each path, so every stamp is on one clock: a clicker sends
``CLICKS`` clicks (bench/engine_clicks.py) and a listener decodes them. The
paths: ``direct`` (two aiortc peer connections, no server), ``videoroom``
(the clicker publishes, the listener's subscription forwards it) and
``audiobridge`` (the listener hears Janus's mix). Onsets are stamped when a
frame is captured (before encoding) and when it is decoded, with no playout
buffer on either path: the difference between paths is what the server adds.
Prints one JSON object: path → the clicks' latencies in seconds.
"""

import argparse
import asyncio
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a script in bench/

from engine_clicks import ClickTrack, Onsets, pair

from client_desktop.engine.media import Silence
from client_desktop.engine.pcm import Pcm
from signaling_server.janus import JanusClient
from tests.lab.janus_peer import MIX, Downlink, Peer, Uplink, new_pc
from tests.support.janus import Plugin

CLICKS = 30
CONNECT_S = 2.0
"""Before the clicks: ICE, DTLS and (through Janus) the subscription settle."""
TAIL_S = 0.5
SPEAKER = "clicker"


async def clicks_through(track: ClickTrack) -> None:
    await asyncio.sleep(CONNECT_S)
    track.arm()
    while not track.done:
        await asyncio.sleep(0.05)
    await asyncio.sleep(TAIL_S)


async def direct(sent: Onsets, heard: Onsets) -> None:
    track = ClickTrack(CLICKS, random.Random(7))
    uplink = Uplink(track, sent.feed)
    sender, receiver = new_pc(), new_pc()
    sender.addTransceiver(uplink.track, direction="sendonly")
    await sender.setLocalDescription(await sender.createOffer())
    await receiver.setRemoteDescription(sender.localDescription)
    downlink = Downlink(receiver, lambda _speaker, pcm, stamp: heard.feed(pcm, stamp))
    downlink.speakers = {t.mid or "": SPEAKER for t in receiver.getTransceivers()}
    downlink.tap_new()
    await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)
    try:
        await clicks_through(track)
    finally:
        await uplink.stop()
        await sender.close()
        await receiver.close()


async def through_janus(args: argparse.Namespace, plugin: Plugin, sent: Onsets, heard: Onsets) -> None:
    client = await JanusClient.connect(args.url, api_secret=args.api_secret)
    session = await client.create_session()
    listener = Peer(session, plugin, args.room, args.pin, "listener")
    clicker = Peer(session, plugin, args.room, args.pin, SPEAKER)
    track = ClickTrack(CLICKS, random.Random(7))

    def on_audio(speaker: str, pcm: Pcm, stamp: float) -> None:
        if speaker in (SPEAKER, MIX):
            heard.feed(pcm, stamp)

    try:
        await listener.join(Silence(), on_audio)
        await clicker.join(track, lambda *_: None, sent.feed)
        await clicks_through(track)
    finally:
        await clicker.leave()
        await listener.leave()
        await session.destroy()
        await client.close()


async def run(args: argparse.Namespace) -> dict[str, list[float]]:
    latencies: dict[str, list[float]] = {}
    for path in ("direct", "videoroom", "audiobridge"):
        sent, heard = Onsets(), Onsets()
        if path == "direct":
            await direct(sent, heard)
        else:
            await through_janus(args, Plugin[path.upper()], sent, heard)
        latencies[path] = pair(sent.times, heard.times)
    return latencies


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--api-secret", required=True)
    p.add_argument("--room", type=int, required=True)
    p.add_argument("--pin", required=True)
    print(json.dumps(asyncio.run(run(p.parse_args()))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
