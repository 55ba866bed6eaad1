"""Grace, resume with rotated tokens, supersede, and nothing lost across a reconnect."""

import asyncio

from protocol import AppCloseCode

from .conftest import ServerFactory
from .wsclient import Client

TWO_INSTANCES_TOO = True
"""Every rule here holds as well on two instances behind a load balancer (conftest.py)."""


async def test_dropped_peer_keeps_its_place_for_the_grace_period(make_server: ServerFactory) -> None:
    server = await make_server(grace_s=0.6)
    alice, bob = await Client.open(server.url), await Client.open(server.url)
    await alice.join(username="alice")
    b = await bob.join(username="bob")
    await alice.expect("peer-joined")
    bob.ws.transport.abort()  # vanish without a close frame
    await alice.nothing(0.3)  # no peer-left within the grace period
    late = await Client.open(server.url)
    seen = await late.join(username="late")
    assert [p["username"] for p in seen["peers"]] == ["alice", "bob"]  # still listed
    await late.send({"type": "signal", "target": b["self"]["id"], "payload": {"kind": "bye"}})
    await late.nothing(0.1)  # dropped, not an error
    left = await alice.expect("peer-left", timeout=2.0, skip=("peer-joined",))
    assert left["id"] == b["self"]["id"]
    for c in (alice, late):
        await c.close()


async def test_resume_keeps_id_and_call_without_churn_and_rotates_token(make_server: ServerFactory) -> None:
    server = await make_server(grace_s=5.0)
    alice, bob = await Client.open(server.url), await Client.open(server.url)
    await alice.join(username="alice")
    b = await bob.join(username="bob")
    await alice.expect("peer-joined")
    await bob.close()
    await alice.send({"type": "chat", "text": "while you were away"})
    await alice.expect("chat")
    back = await Client.open(server.url)
    again = await back.join(username="ignored-name", resume=b["resume"], since=0)
    assert again["resumed"] is True
    assert again["self"] == b["self"]  # same id, the place's username kept
    assert again["resume"] != b["resume"]
    assert [m["text"] for m in again["history"]] == ["while you were away"]
    await alice.nothing(0.3)  # no peer-left / peer-joined churn
    # The old token stopped working: a join with it is a fresh join (and bob's name is held).
    stale = await Client.open(server.url)
    await stale.send({"type": "join", "room": "lobby", "username": "bob", "resume": b["resume"]})
    assert (await stale.expect("error"))["code"] == "name-taken"
    # The new one works, and supersedes the connection still holding the place.
    third = await Client.open(server.url)
    taken = await third.join(username="bob", resume=again["resume"])
    assert taken["resumed"] is True
    assert taken["self"]["id"] == b["self"]["id"]
    assert await back.closed() == (AppCloseCode.SUPERSEDED, "superseded")
    await alice.send({"type": "chat", "text": "hi bob"})
    assert (await third.expect("chat"))["text"] == "hi bob"
    assert (await alice.expect("chat"))["text"] == "hi bob"
    await alice.nothing(0.2)  # still no churn
    for c in (alice, third, stale):
        await c.close()


async def test_token_from_another_room_or_unknown_is_a_fresh_join(make_server: ServerFactory) -> None:
    server = await make_server()
    first = await Client.open(server.url)
    f = await first.join(room="a", username="x")
    await first.close()
    other = await Client.open(server.url)
    o = await other.join(room="b", username="x", resume=f["resume"])
    assert o["resumed"] is False
    assert o["self"]["id"] != f["self"]["id"]
    unknown = await Client.open(server.url)
    u = await unknown.join(room="c", username="y", resume="no-such-token")
    assert u["resumed"] is False
    for c in (other, unknown):
        await c.close()


async def test_reconnect_with_since_loses_no_message(make_server: ServerFactory) -> None:
    server = await make_server(chat_rate_per_s=500.0)
    talker, reader = await Client.open(server.url), await Client.open(server.url)
    await talker.join(username="talker")
    r = await reader.join(username="reader")
    await talker.expect("peer-joined")
    seen: list[int] = []

    async def talk() -> None:
        for i in range(200):
            await talker.send({"type": "chat", "text": f"m{i}"})
            if i % 20 == 0:
                await asyncio.sleep(0.005)

    talking = asyncio.create_task(talk())
    while len(seen) < 50:
        seen.append((await reader.expect("chat"))["id"])
    reader.ws.transport.abort()
    reader = await Client.open(server.url)
    again = await reader.join(username="reader", resume=r["resume"], since=seen[-1])
    seen += [m["id"] for m in again["history"]]
    await talking
    while len(seen) < 200:
        seen.append((await reader.expect("chat"))["id"])
    assert seen == list(range(1, 201))
    await reader.nothing(0.2)
    for c in (talker, reader):
        await c.close()


async def test_since_beyond_1000_is_truncated_to_the_newest(make_server: ServerFactory) -> None:
    server = await make_server(chat_rate_per_s=10_000.0)
    talker = await Client.open(server.url)
    await talker.join(username="talker")
    for i in range(1010):
        await talker.send({"type": "chat", "text": f"m{i}"})
    for _ in range(1010):
        await talker.expect("chat")
    reader = await Client.open(server.url)
    joined = await reader.join(username="reader", since=0)
    assert joined["history_truncated"] is True
    assert [m["id"] for m in joined["history"]] == list(range(11, 1011))
    for c in (talker, reader):
        await c.close()


async def test_a_peer_that_stops_answering_pings_is_dropped_then_announced(
    make_server: ServerFactory,
) -> None:
    server = await make_server(ping_interval_s=0.3, ping_timeout_s=0.3, grace_s=0.5)
    alice, stuck = await Client.open(server.url), await Client.open(server.url)
    await alice.join(username="alice")
    s = await stuck.join(username="stuck")
    await alice.expect("peer-joined")
    await asyncio.sleep(1.0)
    await alice.nothing(0.1)  # answering pings (the client library does): nobody is dropped
    stuck.ws.transport.pause_reading()  # frozen: never reads the ping, never answers
    left = await alice.expect("peer-left", timeout=3.0)
    assert left["id"] == s["self"]["id"]
    stuck.ws.transport.abort()
    await alice.close()
