"""Paging back (docs/protocol.md, "Paging back"): `history` answers a room's chats before an id."""

from typing import Any

from signaling_server.model import ChatDraft, PeerId
from signaling_server.store import Retention

from .conftest import ServerFactory
from .stores import StoreAt, postgres, store_at
from .wsclient import Client

TWO_INSTANCES_TOO = True
"""Every rule here holds as well on two instances behind a load balancer (conftest.py)."""

__all__ = ["postgres", "store_at"]  # the fixtures of tests/stores.py, for pytest to find


async def chats(client: Client, room_texts: list[str]) -> None:
    for text in room_texts:
        await client.send({"type": "chat", "text": text})
        await client.expect("chat", skip=("peer-joined",))


async def page(client: Client, **request: Any) -> dict[str, Any]:
    await client.send({"type": "history", **request})
    return await client.expect("history")


def ids(answer: dict[str, Any]) -> list[int]:
    return [chat["id"] for chat in answer["history"]]


async def test_pages_go_back_to_the_rooms_first_chat_without_gaps(make_server: ServerFactory) -> None:
    server = await make_server(chat_rate_per_s=1000.0)
    alice = await Client.open(server.url)
    await alice.join(username="alice")
    await chats(alice, [f"message {i}" for i in range(1, 121)])
    bob = await Client.open(server.url)
    joined = await bob.join(username="bob")
    oldest = joined["history"][0]["id"]
    assert oldest == 71
    got: list[dict[str, Any]] = []
    more = True
    while more:
        answer = await page(bob, before=oldest)
        assert answer["before"] == oldest
        got[:0] = answer["history"]
        oldest, more = answer["history"][0]["id"], answer["more"]
    assert [c["id"] for c in got] == list(range(1, 71))
    assert [c["text"] for c in got[:2]] == ["message 1", "message 2"]
    assert got[0].keys() == joined["history"][0].keys()  # full chat objects, as in `joined`
    assert (await page(bob, before=11, limit=3)) == {
        "type": "history",
        "before": 11,
        "history": got[7:10],
        "more": True,
    }
    assert (await page(bob, before=1)) == {"type": "history", "before": 1, "history": [], "more": False}
    assert ids(await page(bob, before=10**9, limit=2)) == [119, 120]
    await alice.close()
    await bob.close()


async def test_a_member_reads_only_its_own_rooms_history(make_server: ServerFactory) -> None:
    server = await make_server(chat_rate_per_s=1000.0)
    alice, mallory = await Client.open(server.url), await Client.open(server.url)
    await alice.join(room="den", username="alice")
    await chats(alice, ["den secret 1", "den secret 2"])
    await mallory.join(room="hall", username="mallory")
    await chats(mallory, ["hall 1"])
    answer = await page(mallory, before=100)
    assert [c["text"] for c in answer["history"]] == ["hall 1"]
    stranger = await Client.open(server.url)
    await stranger.send({"type": "history", "before": 100})
    error = await stranger.expect("error")
    assert (error["code"], error["ref"]) == ("not-joined", "history")
    for client in (alice, mallory, stranger):
        await client.close()


async def test_bad_requests_get_bad_message_and_the_connection_carries_on(connect: Any) -> None:
    alice = await connect()
    await alice.join(username="alice")
    for bad in (
        {"before": "7"},
        {"before": -1},
        {"before": 2**63},
        {"before": 5, "limit": 0},
        {"before": 5, "limit": 51},
        {"before": 5, "limit": 2.5},
        {},
    ):
        await alice.send({"type": "history", **bad})
        error = await alice.expect("error")
        assert (error["code"], error["ref"]) == ("bad-message", "history"), bad
    await alice.send({"type": "chat", "text": "still here"})
    assert (await alice.expect("chat"))["text"] == "still here"
    await alice.close()


async def test_requests_spend_the_chat_budget(make_server: ServerFactory) -> None:
    server = await make_server(chat_rate_per_s=1.0)  # burst 2
    alice = await Client.open(server.url)
    await alice.join(username="alice")
    alice.pipeline([{"type": "history", "before": 9}] * 3)
    answers = [await alice.recv() for _ in range(3)]  # the refusal needs no read: it may come first
    assert sorted((a["type"], a.get("code")) for a in answers) == [
        ("error", "rate-limited"),
        ("history", None),
        ("history", None),
    ]
    await alice.close()


def test_a_page_is_the_newest_before_the_id_within_its_bytes(store_at: StoreAt) -> None:
    store = store_at.open(Retention(max_per_room=30))
    store.begin()
    for i in range(1, 41):
        store.append_chat(ChatDraft("den", PeerId("p1"), "alice", f"den {i} " + "x" * 100, i, None))
        store.append_chat(ChatDraft("hall", PeerId("p2"), "bob", f"hall {i}", i, None))
    store.commit()
    chats, more = store.page("den", 21, 5, 1 << 20)
    assert ([c.id for c in chats], more) == ([16, 17, 18, 19, 20], True)
    assert chats[0].text.startswith("den 16 ")
    assert store.page("den", 3, 50, 1 << 20)[1] is False
    one = len(chats[0].text) + 80  # one chat's JSON fits, two do not: the newest is kept
    chats, more = store.page("den", 21, 5, one)
    assert ([c.id for c in chats], more) == ([20], True)
    store.begin()
    store.prune(now=1e9)  # keeps each room's newest 30: den 11..40
    store.commit()
    assert [c.id for c in store.page("den", 13, 50, 1 << 20)[0]] == [11, 12]
    assert store.page("den", 13, 50, 1 << 20)[1] is False
    store.close()
