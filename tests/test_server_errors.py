"""Bad input gets a clear error, the connection (and everyone else) carries on."""

import asyncio
import time

import pytest
from websockets.frames import CloseCode

from protocol import limits
from signaling_server.app import RunningServer

from .conftest import ClientFactory, ServerFactory
from .wsclient import Client

TWO_INSTANCES_TOO = True
"""Every rule here holds as well on two instances behind a load balancer (conftest.py)."""


@pytest.mark.parametrize(
    ("data", "ref"),
    [
        ("not json", None),
        ("[1, 2]", None),
        ('{"room": "x"}', None),
        ('{"type": 7}', None),
        ('{"type": "dance"}', "dance"),
        ('{"type": "join", "room": "bad room", "username": "a"}', "join"),
        ('{"type": "join", "room": "r", "username": "   "}', "join"),
        ('{"type": "join", "room": "r", "username": "a\\u202eb"}', "join"),
        ('{"type": "join", "room": "r", "username": "a", "since": -1}', "join"),
        ('{"type": "join", "room": "r", "username": "a", "voice": "yes"}', "join"),
        ('{"type": "chat", "text": 5}', "chat"),
    ],
)
async def test_malformed_messages_get_bad_message_and_the_connection_stays(
    connect: ClientFactory, data: str, ref: str | None
) -> None:
    client = await connect()
    await client.send(data)
    error = await client.expect("error")
    assert error["code"] == "bad-message"
    assert error.get("ref") == ref
    assert error["message"]
    assert (await client.join())["type"] == "joined"


async def test_binary_message_is_refused_politely(connect: ClientFactory) -> None:
    client = await connect()
    await client.send(b'{"type": "join", "room": "r", "username": "a"}')
    error = await client.expect("error")
    assert error["code"] == "bad-message"
    assert "binary" in error["message"]
    assert "ref" not in error


async def test_not_joined_then_already_joined(connect: ClientFactory) -> None:
    client = await connect()
    await client.send({"type": "chat", "text": "hi"})
    error = await client.expect("error")
    assert (error["code"], error["ref"]) == ("not-joined", "chat")
    await client.join()
    await client.send({"type": "join", "room": "lobby", "username": "again"})
    error = await client.expect("error")
    assert (error["code"], error["ref"]) == ("already-joined", "join")
    await client.send({"type": "chat", "text": "still here"})
    assert (await client.expect("chat"))["text"] == "still here"


async def test_signal_payload_over_32_kib_is_bad_message(connect: ClientFactory) -> None:
    alice, bob = await connect(), await connect()
    await alice.join(username="alice")
    b = await bob.join(username="bob")
    await alice.expect("peer-joined")
    await alice.send({"type": "signal", "target": b["self"]["id"], "payload": {"sdp": "x" * 33_000}})
    assert (await alice.expect("error"))["code"] == "bad-message"
    await alice.send({"type": "signal", "target": b["self"]["id"], "payload": {"sdp": "x" * 32_000}})
    assert len((await bob.expect("signal"))["payload"]["sdp"]) == 32_000


async def test_oversize_message_closes_with_1009_others_unaffected(connect: ClientFactory) -> None:
    big, other = await connect(), await connect()
    await big.join(username="big")
    await other.join(username="other")
    await big.send('{"type": "chat", "text": "' + "x" * 70_000 + '"}')
    code, _ = await big.closed()
    assert code == CloseCode.MESSAGE_TOO_BIG
    await other.send({"type": "chat", "text": "fine"})
    assert (await other.expect("chat", skip=("peer-joined",)))["text"] == "fine"


async def test_invalid_utf8_closes_with_1007(connect: ClientFactory) -> None:
    client = await connect()
    await client.ws.send(b"\xff\xfe{}", text=True)
    code, _ = await client.closed()
    assert code == CloseCode.INVALID_DATA


async def test_name_taken_is_case_insensitive_and_closes_1008(connect: ClientFactory) -> None:
    await (await connect()).join(username="Ana")
    dup = await connect()
    await dup.send({"type": "join", "room": "lobby", "username": " ana "})
    error = await dup.expect("error")
    assert (error["code"], error["ref"]) == ("name-taken", "join")
    assert (await dup.closed())[0] == CloseCode.POLICY_VIOLATION
    # The same name in another room is fine.
    assert (await (await connect()).join(room="other", username="ANA"))["self"]["username"] == "ANA"


async def test_17th_peer_gets_room_full(connect: ClientFactory) -> None:
    for i in range(16):
        await (await connect()).join(username=f"u{i}")
    extra = await connect()
    await extra.send({"type": "join", "room": "lobby", "username": "u16"})
    assert (await extra.expect("error"))["code"] == "room-full"
    assert (await extra.closed())[0] == CloseCode.POLICY_VIOLATION


async def test_server_full_closes_1013(make_server: ServerFactory) -> None:
    server = await make_server(max_connections=2)
    first, second = await Client.open(server.url), await Client.open(server.url)
    await counted(server, 2)  # on several instances, the service counts a connection once all have seen it
    third = await Client.open(server.url)
    error = await third.expect("error")
    assert error["code"] == "server-full"
    assert (await third.closed())[0] == CloseCode.TRY_AGAIN_LATER
    assert (await first.join(username="one"))["type"] == "joined"
    for c in (first, second):
        await c.close()


async def test_wrong_or_missing_password_is_auth_failed(make_server: ServerFactory) -> None:
    server = await make_server(password="s3cret")
    for fields in ({}, {"password": "S3CRET"}, {"password": ""}):
        client = await Client.open(server.url)
        await client.send({"type": "join", "room": "r", "username": "a", **fields})
        error = await client.expect("error")
        assert (error["code"], error["ref"]) == ("auth-failed", "join")
        assert (await client.closed())[0] == CloseCode.POLICY_VIOLATION
    good = await Client.open(server.url)
    assert (await good.join(room="r", username="a", password="s3cret"))["type"] == "joined"
    await good.close()


async def test_password_sent_to_open_server_is_ignored(connect: ClientFactory) -> None:
    assert (await (await connect()).join(password="whatever"))["type"] == "joined"


async def test_garbage_flood_is_rate_limited_while_others_chat(
    connect: ClientFactory, server: RunningServer
) -> None:
    flooder, alice, bob = await connect(), await connect(), await connect()
    await alice.join(username="alice")
    await bob.join(username="bob")
    await alice.expect("peer-joined")
    sent = 0

    async def flood() -> None:
        nonlocal sent
        while True:  # until the server stops reading and TCP makes this send wait
            await flooder.send("garbage " * 50)
            sent += 1
            if sent % 50 == 0:
                await asyncio.sleep(0)

    flood_task = asyncio.create_task(flood())
    started = time.monotonic()
    for i in range(10):  # half the chat budget per second: never rate-limited itself
        await alice.send({"type": "chat", "text": f"msg {i}"})
        assert (await bob.expect("chat", timeout=2.0))["text"] == f"msg {i}"
        await asyncio.sleep(0.1)
    flood_task.cancel()
    elapsed = time.monotonic() - started
    errors = []
    while True:
        try:
            errors.append(await flooder.recv(timeout=0.5))
        except TimeoutError:
            break
    codes = [e["code"] for e in errors]
    assert sent > 500
    burst, rate = limits.DEFAULT_CHAT_BURST, limits.DEFAULT_CHAT_RATE_PER_S
    assert codes.count("bad-message") <= burst + rate * (elapsed + 1)  # the burst, then the budget
    assert 1 <= codes.count("rate-limited") <= elapsed + 2  # at most one a second


@pytest.mark.one_instance("the gate runs on the connection's own instance alone, as on one server")
async def test_a_sustained_flood_is_disconnected_after_10_s(make_server: ServerFactory) -> None:
    server = await make_server(chat_rate_per_s=2.0)  # 10x the budget is 20 messages/s
    flooder, bystander = await Client.open(server.url), await Client.open(server.url)
    await bystander.join(username="bystander")
    started = time.monotonic()

    async def flood() -> None:
        while True:
            await flooder.send("garbage")
            await asyncio.sleep(0.005)  # ~200/s: ten times over ten times the budget

    task = asyncio.create_task(flood())
    try:
        code, reason = await flooder.closed(timeout=20)
    finally:
        task.cancel()
    assert (code, reason) == (CloseCode.POLICY_VIOLATION, "flooding")
    assert 9.5 <= time.monotonic() - started <= 15
    await bystander.send({"type": "chat", "text": "unbothered"})
    assert (await bystander.expect("chat"))["text"] == "unbothered"
    await bystander.close()


async def counted(server: RunningServer, connections: int, timeout_s: float = 5.0) -> None:
    """Wait until ``server``'s core counts ``connections`` (at once on one instance)."""
    async with asyncio.timeout(timeout_s):
        while server.relay.hub.connections != connections:
            await asyncio.sleep(0.01)
