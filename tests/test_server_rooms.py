"""Rooms over real websockets: join, presence, chat, signaling, state, leave."""

import asyncio

from websockets.frames import CloseCode

from signaling_server.app import RunningServer

from .conftest import ClientFactory, ServerFactory
from .wsclient import Client

TWO_INSTANCES_TOO = True
"""Every rule here holds as well on two instances behind a load balancer (conftest.py)."""


async def test_joined_lists_others_in_join_order_and_peer_joined_comes_first(connect: ClientFactory) -> None:
    alice, bob, carol = await connect(), await connect(), await connect()
    a = await alice.join(username="alice")
    assert a["peers"] == []
    assert a["history"] == []
    assert a["resumed"] is False
    assert a["self"]["username"] == "alice"
    assert a["ice_servers"] == []
    assert a["server"]["version"]
    b = await bob.join(username="bob", voice=False)
    assert [p["username"] for p in b["peers"]] == ["alice"]
    joined = await alice.expect("peer-joined")
    assert joined["peer"] == {
        "id": b["self"]["id"],
        "username": "bob",
        "muted": False,
        "deafened": False,
        "voice": False,
    }
    c = await carol.join(username="carol")
    assert [p["id"] for p in c["peers"]] == [a["self"]["id"], b["self"]["id"]]
    assert len({a["self"]["id"], b["self"]["id"], c["self"]["id"]}) == 3


async def test_subprotocol_is_echoed_and_optional(connect: ClientFactory) -> None:
    offered = await connect()
    assert offered.ws.subprotocol == "voxroom.v1"
    none = await connect(subprotocols=[])
    assert none.ws.subprotocol is None
    other = await connect(subprotocols=["chat.v9"])
    assert other.ws.subprotocol is None
    for client, name in ((none, "n1"), (other, "n2")):
        assert (await client.join(username=name))["self"]["username"] == name


async def test_chat_reaches_room_with_server_identity_and_ids(connect: ClientFactory) -> None:
    alice, bob, eve = await connect(), await connect(), await connect()
    a = await alice.join(username="alice")
    await bob.join(username="bob")
    await alice.expect("peer-joined")
    await eve.join(room="elsewhere", username="eve")
    await alice.send(
        {"type": "chat", "text": "  hello\tthere \n", "nonce": "n-1", "from": "bob", "username": "x"}
    )
    for client in (alice, bob):
        message = await client.expect("chat")
        assert message["id"] == 1
        assert message["from"] == a["self"]["id"]
        assert message["username"] == "alice"
        assert message["text"] == "hello\tthere"
        assert message["nonce"] == "n-1"
    await bob.send({"type": "chat", "text": "second"})
    second = await alice.expect("chat")
    assert second["id"] == 2
    assert "nonce" not in second
    await eve.nothing()


async def test_history_on_join_is_last_50_and_since_returns_the_rest(
    connect: ClientFactory, make_server: ServerFactory
) -> None:
    url = (await make_server(chat_rate_per_s=1000.0)).url
    talker = await connect(url)
    await talker.join(username="talker")
    for i in range(60):
        await talker.send({"type": "chat", "text": f"m{i}"})
        await talker.expect("chat")
    fresh = await (await connect(url)).join(username="fresh")
    assert [m["id"] for m in fresh["history"]] == list(range(11, 61))
    assert fresh["history"][0]["text"] == "m10"
    assert "history_truncated" not in fresh
    later = await (await connect(url)).join(username="later", since=57)
    assert [m["id"] for m in later["history"]] == [58, 59, 60]
    none = await (await connect(url)).join(username="none", since=60)
    assert none["history"] == []


async def test_signal_is_relayed_to_target_only_and_never_across_rooms(connect: ClientFactory) -> None:
    alice_c, bob_c, carol_c, eve_c = [await connect() for _ in range(4)]
    a = await alice_c.join(username="alice")
    b = await bob_c.join(username="bob")
    await carol_c.join(username="carol")
    e = await eve_c.join(room="other", username="eve")
    payload = {"kind": "offer", "sdp": "v=0\r\n"}
    await alice_c.send({"type": "signal", "target": b["self"]["id"], "payload": payload, "from": "forged"})
    relayed = await bob_c.expect("signal", skip=("peer-joined",))
    assert relayed == {"type": "signal", "from": a["self"]["id"], "payload": payload}
    await carol_c.nothing(0.2)
    for target in (e["self"]["id"], "nobody", a["self"]["id"]):
        await alice_c.send({"type": "signal", "target": target, "payload": {}})
        error = await alice_c.expect("error", skip=("peer-joined",))
        assert (error["code"], error["target"], error["ref"]) == ("unknown-target", target, "signal")
    await eve_c.nothing(0.2)


async def test_state_goes_to_everyone_including_sender_as_full_state(connect: ClientFactory) -> None:
    alice, bob = await connect(), await connect()
    a = await alice.join(username="alice")
    await bob.join(username="bob")
    await alice.expect("peer-joined")
    await alice.send({"type": "state", "muted": True, "id": "forged"})
    for client in (alice, bob):
        state = await client.expect("peer-state")
        assert state == {
            "type": "peer-state",
            "id": a["self"]["id"],
            "muted": True,
            "deafened": False,
            "voice": True,
        }
    await alice.send({"type": "state", "voice": False})
    assert (await bob.expect("peer-state"))["voice"] is False
    late = await (await connect()).join(username="late")
    assert late["peers"][0]["muted"] is True
    assert late["peers"][0]["voice"] is False


async def test_leave_announces_and_closes_normally(connect: ClientFactory, server: RunningServer) -> None:
    alice, bob = await connect(), await connect()
    await alice.join(username="alice")
    b = await bob.join(username="bob")
    await alice.expect("peer-joined")
    await bob.send({"type": "leave"})
    assert await bob.closed() == (CloseCode.NORMAL_CLOSURE, "left")
    assert await alice.expect("peer-left") == {"type": "peer-left", "id": b["self"]["id"]}
    # The name is free again at once.
    again = await (await connect()).join(username="BOB")
    assert again["self"]["id"] != b["self"]["id"]


async def test_many_rooms_stay_isolated(connect: ClientFactory) -> None:
    clients: list[Client] = [await connect() for _ in range(6)]
    for i, client in enumerate(clients):
        await client.join(room=f"r{i % 3}", username=f"u{i}")
    for i in range(3):
        await clients[i].expect("peer-joined")
    await asyncio.gather(*(c.send({"type": "chat", "text": f"from {i}"}) for i, c in enumerate(clients)))
    for i, client in enumerate(clients):
        texts = {(await client.expect("chat", skip=("peer-joined",)))["text"] for _ in range(2)}
        assert texts == {f"from {i % 3}", f"from {i % 3 + 3}"}
