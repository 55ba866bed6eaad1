"""A client that stops reading is dropped at a bounded backlog, and resumes losing nothing."""

import asyncio

import pytest

from signaling_server import transport

from .conftest import ServerFactory
from .wsclient import Client


async def test_slow_consumer_is_dropped_and_resumes(
    make_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport, "MAX_BACKLOG_BYTES", 256 * 1024)
    server = await make_server(chat_rate_per_s=100_000.0)
    talker, stalled = await Client.open(server.url), await Client.open(server.url)
    await talker.join(username="talker")
    s = await stalled.join(username="stalled")
    await talker.expect("peer-joined")
    stalled.ws.transport.pause_reading()  # stops reading: the server's buffer for it grows
    text = "x" * 1900
    sent = 0
    registry = server.relay.metrics.registry
    while not registry.get_sample_value("voxroom_slow_consumers_dropped_total"):
        for _ in range(50):
            await talker.send({"type": "chat", "text": text})
        sent += 50
        for _ in range(50):
            await talker.expect("chat")  # the talker is served all along
        assert sent < 20_000, "the stalled client was never dropped"
    # Dropped without waiting for it; its place waits for the grace period, nobody saw it leave.
    await talker.nothing(0.3)
    back = await Client.open(server.url)
    again = await back.join(username="stalled", resume=s["resume"], since=sent - 30)
    assert again["resumed"] is True
    assert [m["id"] for m in again["history"]] == list(range(sent - 29, sent + 1))
    stalled.ws.transport.abort()
    await asyncio.gather(talker.close(), back.close())
