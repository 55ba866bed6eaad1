"""Retention: the oldest chat goes, by age and by count per room; ids never restart (on both engines)."""

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

from signaling_server import store as store_module
from signaling_server.app import DB_NAME
from signaling_server.model import ChatDraft, PeerId
from signaling_server.store import Retention, Store, StoreThread

from .conftest import ServerFactory
from .stores import StoreAt, postgres, store_at
from .wsclient import Client

__all__ = ["postgres", "store_at"]  # the fixtures of tests/stores.py, for pytest to find

NOW = 1_800_000_000.0  # wall-clock seconds
DAY_MS = 86_400_000
EVERYTHING = 1 << 30  # bytes: no history bound


def _post(store: Store, room: str, count: int, ts_ms: int = int(NOW * 1000)) -> list[int]:
    store.begin()
    ids = [
        store.append_chat(ChatDraft(room, PeerId("p1"), "alice", "hi", ts_ms, None)).id for _ in range(count)
    ]
    store.commit()
    return ids


def _prune_all(store: Store, now: float = NOW) -> int:
    deleted, more = 0, True
    while more:
        store.begin()
        batch, more = store.prune(now)
        store.commit()
        deleted += batch
    return deleted


def _ids(store: Store, room: str, since: int | None) -> tuple[list[int], bool]:
    history, truncated = store.history(room, since, EVERYTHING)
    return [m.id for m in history], truncated


def test_max_per_room_keeps_each_rooms_newest(store_at: StoreAt) -> None:
    store = store_at.open(Retention(max_per_room=10))
    _post(store, "a", 25)
    _post(store, "b", 3)
    assert _prune_all(store) == 15
    assert _ids(store, "a", None) == (list(range(16, 26)), False)
    assert _ids(store, "b", 0) == ([1, 2, 3], False)
    # `since` into the pruned range returns what is left, and says that some are gone.
    assert _ids(store, "a", 0) == (list(range(16, 26)), True)
    assert _ids(store, "a", 14) == (list(range(16, 26)), True)
    assert _ids(store, "a", 15) == (list(range(16, 26)), False)
    assert _prune_all(store) == 0
    store.close()


def test_a_room_pruned_to_empty_goes_on_from_its_last_id_after_a_restart(store_at: StoreAt) -> None:
    store = store_at.open(Retention(max_age_days=7))
    _post(store, "a", 3, ts_ms=int(NOW * 1000) - 8 * DAY_MS)
    _post(store, "b", 2, ts_ms=int(NOW * 1000) - 6 * DAY_MS)  # younger than 7 days: kept
    assert _prune_all(store) == 3
    assert _ids(store, "a", 0) == ([], True)
    assert _ids(store, "a", 3) == ([], False)  # nothing was missed after 3
    assert _ids(store, "b", 0) == ([1, 2], False)
    store.close()
    store = store_at.open(Retention(max_age_days=7))
    assert _post(store, "a", 1) == [4]
    store.close()


def test_pruning_goes_in_short_batches(store_at: StoreAt, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "PRUNE_BATCH_ROWS", 4)
    monkeypatch.setattr(store_module, "PRUNE_BATCH_ROOMS", 2)
    store = store_at.open(Retention(max_per_room=1))
    for room in "abc":
        _post(store, room, 4)
    batches = []
    more = True
    while more:
        store.begin()
        deleted, more = store.prune(NOW)
        store.commit()
        batches.append(deleted)
    assert batches == [4, 4, 1]  # a: 3, b: 1 / b: 2, c: 2 / c: 1
    assert [_ids(store, room, None)[0] for room in "abc"] == [[4], [4], [4]]
    store.close()


async def test_the_store_thread_prunes_at_start_and_every_period(
    store_at: StoreAt, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "PRUNE_EVERY_S", 0.05)
    thread = StoreThread(store_at.open(Retention(max_per_room=3)))
    try:
        for _ in range(5):
            await thread.submit(Store.append_chat, ChatDraft("a", PeerId("p1"), "alice", "hi", 0, None))
        await asyncio.sleep(0.3)
        history, truncated = await thread.submit(Store.history, "a", 0, EVERYTHING)
        assert ([m.id for m in history], truncated) == ([3, 4, 5], True)
    finally:
        thread.stop()


async def test_history_max_per_room_on_the_real_server(make_server: ServerFactory, tmp_path: Path) -> None:
    server = await make_server(history_max_per_room=2)
    alice = await Client.open(server.url)
    await alice.join(username="alice")
    for i in range(5):
        await alice.send({"type": "chat", "text": f"m{i}"})
        await alice.expect("chat")
    await alice.close()
    await server.close()  # a restart prunes at start
    server = await make_server(history_max_per_room=2)
    db = tmp_path / "data" / DB_NAME
    for _ in range(100):
        with contextlib.closing(sqlite3.connect(db)) as reader:
            if reader.execute("SELECT COUNT(*) FROM chat").fetchone()[0] == 2:
                break
        await asyncio.sleep(0.05)
    bob = await Client.open(server.url)
    b = await bob.join(username="bob", since=0)
    assert ([m["text"] for m in b["history"]], b["history_truncated"]) == (["m3", "m4"], True)
    await bob.send({"type": "chat", "text": "next"})
    assert (await bob.expect("chat"))["id"] == 6
    await bob.close()
