"""Frames in any cut and order reach the rooms as whole messages, and bad ones are refused by the RFC.

The server splits what it reads into whole frames itself and handles the
common kind (a final, masked text frame) without websockets' parser; every
other frame goes to websockets' protocol (``signaling_server/wsproto.py``).
These check the seams: a frame split across reads, a fragmented message
with a ping inside it, and frames the protocol must refuse.
"""

import asyncio
import json
import os

import pytest
from websockets.frames import CloseCode

from .conftest import ClientFactory

TEXT, CONTINUATION, PING = 0x1, 0x0, 0x9


def frame(payload: bytes, opcode: int = TEXT, *, fin: bool = True, rsv: int = 0, mask: bool = True) -> bytes:
    """A client frame (RFC 6455 5.2) built by hand, so it can be cut or broken at will."""
    key = os.urandom(4) if mask else b""
    n = len(payload)
    length = bytes((0x80 * mask | n,)) if n < 126 else bytes((0x80 * mask | 126,)) + n.to_bytes(2, "big")
    body = bytes(c ^ key[i % 4] for i, c in enumerate(payload)) if mask else payload
    return bytes((0x80 * fin | rsv | opcode,)) + length + key + body


def chat(text: str) -> bytes:
    return json.dumps({"type": "chat", "text": text}).encode()


async def test_a_message_cut_into_single_bytes_arrives_whole(connect: ClientFactory) -> None:
    a, b = await connect(), await connect()
    await a.join(username="a")
    await b.join(username="b")
    data = frame(chat("x" * 200))  # a 16-bit length: every part of the header arrives on its own
    for i in range(len(data)):
        a.ws.transport.write(data[i : i + 1])
        await asyncio.sleep(0.001)  # each byte its own read
    assert (await b.expect("chat", skip=("peer-joined",)))["text"] == "x" * 200


async def test_a_fragmented_message_with_a_ping_inside_arrives_whole(connect: ClientFactory) -> None:
    a, b = await connect(), await connect()
    await a.join(username="a")
    await b.join(username="b")
    whole = chat("in three parts")
    parts = [
        frame(whole[:5], fin=False),
        frame(b"ping", PING),
        frame(whole[5:12], CONTINUATION, fin=False),
        frame(whole[12:], CONTINUATION),
        frame(chat("and one whole")),
    ]
    a.ws.transport.write(b"".join(parts))  # one write: the server finds them behind one another
    assert (await b.expect("chat", skip=("peer-joined",)))["text"] == "in three parts"
    assert (await b.expect("chat"))["text"] == "and one whole"


@pytest.mark.parametrize(
    "bad",
    [frame(chat("reserved bit"), rsv=0x40), frame(chat("unmasked"), mask=False)],
    ids=["rsv", "unmasked"],
)
async def test_a_malformed_text_frame_closes_with_1002(connect: ClientFactory, bad: bytes) -> None:
    client = await connect()
    await client.join()
    client.ws.transport.write(bad)
    code, _ = await client.closed()
    assert code == CloseCode.PROTOCOL_ERROR
