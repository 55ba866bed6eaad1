"""A broken or hostile peer fails alone: the rest of the call and the chat go on."""

import logging

import pytest

from client_desktop.engine import events
from client_desktop.engine.call_rules import CallTiming
from client_desktop.engine.media import Tone
from signaling_server.app import RunningServer

from ..wsclient import Client
from .calls import Bot, BotFactory, connected, tones_in, until

GARBAGE = [
    {"kind": "offer", "sdp": "this is not SDP"},
    {"kind": "offer"},
    {"kind": "answer", "sdp": "v=0\r\n"},
    {"kind": "candidate", "candidate": "candidate:garbage", "sdpMid": "0", "sdpMLineIndex": 0},
    {"kind": "candidate", "candidate": 17},
    {"kind": "dance"},
    {"kind": "_offer"},  # once an internal command: a peer must not make us offer
    {"kind": "bye"},
]


async def barrier(sender: Client, receiver: Bot) -> None:
    """What ``sender`` sent before has reached ``receiver``: the server relays each sender in order."""
    await sender.send({"type": "chat", "text": "barrier"})
    await until(lambda: any(text == "barrier" for _, text in receiver.chats()))


async def test_garbage_and_offer_floods_fail_that_peer_only(
    bots: BotFactory, server: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    a = await bots("a")
    b = await bots("b")
    a.audio.source = Tone(440, -12.0)
    await until(connected(a, b))
    hostile = await Client.open(server.url)
    await hostile.join(room="call", username="mallory")
    target = a.engine.self_id
    with caplog.at_level(logging.WARNING, logger="voxroom.mesh"):
        for payload in GARBAGE:
            await hostile.send({"type": "signal", "target": target, "payload": payload})
        for i in range(300):  # an offer flood; the server's signal budget lets 400 through
            await hostile.send(
                {"type": "signal", "target": target, "payload": {"kind": "offer", "sdp": f"x{i}"}}
            )
        await barrier(hostile, a)  # everything mallory sent has reached a
        await until(lambda: any("failed" in r.message for r in caplog.records))
    assert connected(a, b)()  # the real call is untouched
    assert tones_in(await b.record(1.0), (440.0,))
    a.engine.send_chat("chat goes on")
    await until(lambda: any(text == "chat goes on" for _, text in b.chats()))
    await hostile.close()


async def test_a_peer_that_never_answers_is_given_up(bots: BotFactory, server: RunningServer) -> None:
    silent = await Client.open(server.url)
    s = await silent.join(room="call", username="silent")  # in the room, voice on, never answers
    a = await bots("a", timing=CallTiming(answer_timeout_s=0.5))
    offer = await silent.expect("signal", skip=("peer-joined",))
    assert offer["payload"]["kind"] == "offer"
    silent_id = s["self"]["id"]
    given_up = events.CallStateChanged(silent_id, events.CallState.CLOSED)
    await until(lambda: given_up in a.log, timeout=3.0)
    if (a.engine.self_id or "") < silent_id:  # the smaller id retries
        assert (await silent.expect("signal", skip=("peer-joined",)))["payload"]["kind"] == "offer"
    b = await bots("b")
    await until(connected(a, b))  # others still connect
    await silent.close()
