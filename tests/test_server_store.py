"""A failing disk is logged and answered; the server and the other rooms go on."""

import logging

import pytest

from .conftest import ServerFactory
from .wsclient import Client


async def test_full_disk_fails_the_chat_not_the_server(
    make_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # A database capped at a few pages is a disk that fills up after a few messages.
    server = await make_server(max_db_pages=12, chat_rate_per_s=1000.0)
    alice, bob = await Client.open(server.url), await Client.open(server.url)
    await alice.join(username="alice")
    await bob.join(username="bob")
    await alice.expect("peer-joined")
    delivered, failed = 0, 0
    with caplog.at_level(logging.ERROR, logger="voxroom.store"):
        for i in range(200):
            await alice.send({"type": "chat", "text": f"{i:04d} " + "x" * 1500})
            reply = await alice.recv()
            if reply["type"] == "chat":
                delivered += 1
                assert (await bob.expect("chat"))["id"] == delivered  # ids stay gapless
            else:
                assert (reply["code"], reply["ref"]) == ("storage-failed", "chat")
                failed += 1
    assert delivered >= 1
    assert failed >= 1
    assert any("database write failed" in r.message for r in caplog.records)
    await bob.nothing(0.2)  # bob never saw a message that was not saved
    # Still serving: joins, presence and signaling work.
    carol = await Client.open(server.url)
    c = await carol.join(username="carol")
    assert [p["username"] for p in c["peers"]] == ["alice", "bob"]
    assert len(c["history"]) == delivered
    for client in (alice, bob, carol):
        await client.close()
