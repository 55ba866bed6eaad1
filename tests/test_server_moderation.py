"""Moderation against the real server: kick, ban (stored, across a restart), server mute, lock.

Every client comes through a trusted proxy (127.0.0.1) that names its address
in ``X-Forwarded-For``, so that a ban by address hits one client and not all.
"""

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.frames import CloseCode

from signaling_server.addresses import network

from .conftest import ServerFactory, ServerProcess
from .wsclient import Client

TWO_INSTANCES_TOO = True
"""Every rule here holds as well on two instances behind a load balancer (conftest.py)."""

ADMIN = "b0ss"
MOD_ADDR, BOB_ADDR, CAT_ADDR = "203.0.113.1", "203.0.113.2", "203.0.113.3"


_opened: list[Client] = []


@pytest.fixture(autouse=True)
async def _close_clients() -> AsyncIterator[None]:
    yield
    await asyncio.gather(*(c.close() for c in _opened), return_exceptions=True)
    _opened.clear()


async def open_from(url: str, address: str) -> Client:
    """A client whose address, as the proxy says, is ``address``; closed after the test."""
    client = await Client.open(url, additional_headers={"X-Forwarded-For": address})
    _opened.append(client)
    return client


async def enter(url: str, username: str, address: str, **fields: Any) -> tuple[Client, dict[str, Any]]:
    client = await open_from(url, address)
    return client, await client.join(room="den", username=username, **fields)


async def room(url: str) -> tuple[tuple[Client, Client, Client], tuple[str, str, str]]:
    """mia the moderator, bob and cat in "den", each having heard of the later ones."""
    mia, m = await enter(url, "mia", MOD_ADDR, admin_password=ADMIN)
    bob, b = await enter(url, "bob", BOB_ADDR)
    cat, c = await enter(url, "cat", CAT_ADDR)
    await mia.expect("peer-joined")
    await mia.expect("peer-joined")
    await bob.expect("peer-joined")
    assert m["self"]["role"] == "moderator"
    assert [p.get("role") for p in c["peers"]] == ["moderator", None]  # a member's role is left out
    return (mia, bob, cat), (m["self"]["id"], b["self"]["id"], c["self"]["id"])


async def moderated_server(make_server: ServerFactory) -> str:
    server = await make_server(admin_password=ADMIN, trust_proxy=(network("127.0.0.1"),))
    return server.url


async def test_a_kick_is_seen_by_all_and_the_others_carry_on(make_server: ServerFactory) -> None:
    (mia, bob, cat), (m, b, _) = await room(await moderated_server(make_server))
    await mia.send({"type": "kick", "target": b, "reason": "spam"})
    notice = {
        "type": "moderated",
        "action": "kick",
        "by": m,
        "by_username": "mia",
        "target": b,
        "target_username": "bob",
        "reason": "spam",
    }
    for client in (mia, cat):
        assert await client.recv() == notice
        assert await client.recv() == {"type": "peer-left", "id": b}
    assert await bob.recv() == notice
    assert await bob.recv() == {
        "type": "error",
        "code": "kicked",
        "message": "mia kicked you: spam",
        "ref": "kick",
    }
    assert await bob.closed() == (4001, "kicked")
    await cat.send({"type": "chat", "text": "peace at last"})
    assert (await mia.expect("chat"))["text"] == "peace at last"


async def test_a_member_who_tries_gets_not_moderator_and_nothing_happens(make_server: ServerFactory) -> None:
    (mia, bob, cat), (m, _, _) = await room(await moderated_server(make_server))
    for request in (
        {"type": "kick", "target": m},
        {"type": "ban", "target": m},
        {"type": "server-mute", "target": m, "muted": True},
        {"type": "lock-room", "locked": True},
    ):
        await bob.send(request)
        reply = await bob.expect("error")
        assert (reply["code"], reply["ref"]) == ("not-moderator", request["type"])
    await mia.nothing()
    await bob.send({"type": "chat", "text": "still here"})
    assert (await cat.expect("chat"))["text"] == "still here"


async def test_a_server_muted_peer_cannot_unmute_itself(make_server: ServerFactory) -> None:
    (mia, bob, cat), (_, b, _) = await room(await moderated_server(make_server))
    await mia.send({"type": "server-mute", "target": b, "muted": True})
    muted = {
        "type": "peer-state",
        "id": b,
        "muted": True,
        "deafened": False,
        "voice": True,
        "server_muted": True,
    }
    for client in (mia, bob, cat):
        assert (await client.expect("moderated"))["muted"] is True
        assert await client.recv() == muted
    await bob.send({"type": "state", "muted": False})
    assert await cat.recv() == muted
    await mia.send({"type": "server-mute", "target": b, "muted": False})
    assert (await cat.expect("moderated"))["muted"] is False
    assert await cat.recv() == {
        "type": "peer-state",
        "id": b,
        "muted": False,
        "deafened": False,
        "voice": True,
    }


async def test_a_locked_room_refuses_newcomers_and_a_room_password_admits_them(
    make_server: ServerFactory,
) -> None:
    url = await moderated_server(make_server)
    (mia, _, cat), _ = await room(url)
    await mia.send({"type": "lock-room", "locked": True})
    assert (await cat.expect("moderated"))["locked"] is True
    dan = await open_from(url, "203.0.113.4")
    await dan.send({"type": "join", "room": "den", "username": "dan"})
    assert (await dan.expect("error"))["code"] == "room-locked"
    assert await dan.closed() == (CloseCode.POLICY_VIOLATION, "room-locked")
    await mia.send({"type": "lock-room", "locked": True, "password": "knock"})
    assert (await cat.expect("moderated"))["with_password"] is True
    dan = await open_from(url, "203.0.113.4")
    await dan.send({"type": "join", "room": "den", "username": "dan", "room_password": "guess"})
    assert (await dan.expect("error"))["message"] == "wrong room password"
    _, joined = await enter(url, "dan", "203.0.113.4", room_password="knock")
    assert joined["resumed"] is False


async def test_a_ban_refuses_the_address_until_it_expires_across_a_restart(
    server_process: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    (tmp_path / "admin").write_text(ADMIN + "\n")
    proc = server_process("--admin-password-file", str(tmp_path / "admin"), "--trust-proxy", "127.0.0.1")
    proc.start()
    (mia, bob, cat), (_, b, _) = await room(proc.url)
    banned_at = time.time()
    await mia.send({"type": "ban", "target": b, "reason": "trolling", "duration_s": 6})
    assert (await cat.expect("moderated"))["duration_s"] == 6
    assert await bob.closed() == (4002, "banned")
    proc.kill(signal.SIGKILL)
    proc.start()
    again = await open_from(proc.url, BOB_ADDR)
    await again.send({"type": "join", "room": "den", "username": "bob"})
    refusal = await again.expect("error")
    assert refusal["code"] == "banned"
    assert refusal["message"].endswith("more: trolling")
    assert await again.closed() == (CloseCode.POLICY_VIOLATION, "banned")
    _, other = await enter(proc.url, "eve", CAT_ADDR)  # another address is welcome
    assert other["resumed"] is False
    await asyncio.sleep(max(0.0, banned_at + 6.2 - time.time()))
    _, back = await enter(proc.url, "bob", BOB_ADDR)
    assert back["self"]["username"] == "bob"
