"""A hostile room member: offers a call whose SDP lists the candidates it is told to.

``python -m tests.lab.hostile_peer SERVER_URL ROOM SECONDS CANDIDATE...``
(each CANDIDATE as ``IP:PORT``) joins ROOM, offers to every member in the
call with an SDP made by aiortc whose own candidates are replaced by these,
stays SECONDS, and prints ``offered N`` (how many members it offered to).
It speaks the protocol as plain JSON, as an attacker's script would.
"""

import asyncio
import json
import sys
from collections.abc import Sequence

from aiortc import RTCConfiguration, RTCPeerConnection
from websockets.asyncio.client import connect


async def crafted_offer(candidates: Sequence[str]) -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("audio")
    await pc.setLocalDescription(await pc.createOffer())
    own = pc.localDescription.sdp
    await pc.close()
    lines = [line for line in own.split("\r\n") if not line.startswith("a=candidate:")]
    at = lines.index("a=end-of-candidates")
    for i, candidate in enumerate(candidates):
        ip, port = candidate.rsplit(":", 1)
        lines.insert(at + i, f"a=candidate:{i + 1} 1 udp {2130706431 - i} {ip} {port} typ host")
    return "\r\n".join(lines)


async def main(url: str, room: str, seconds: float, candidates: Sequence[str]) -> int:
    sdp = await crafted_offer(candidates)
    async with connect(url, subprotocols=["voxroom.v1"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "join", "room": room, "username": "mallory"}))
        joined = json.loads(await ws.recv())
        assert joined["type"] == "joined", joined
        targets = [p["id"] for p in joined["peers"] if p["voice"]]
        for target in targets:
            payload = {"kind": "offer", "sdp": sdp}
            await ws.send(json.dumps({"type": "signal", "target": target, "payload": payload}))
        print(f"offered {len(targets)}", flush=True)
        try:
            async with asyncio.timeout(seconds):
                async for _ in ws:  # keep reading: answers, candidates, whatever comes
                    pass
        except TimeoutError:
            pass
    return 0


if __name__ == "__main__":
    url, room, seconds, *candidates = sys.argv[1:]
    sys.exit(asyncio.run(main(url, room, float(seconds), candidates)))
