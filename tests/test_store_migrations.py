"""The schema's versions: older ones are migrated and served, a newer one is refused (both engines).

SQLite also has the databases 0.1.0 wrote, which set no version at all.
"""

import asyncio
import contextlib
import logging
import shutil
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from protocol import Role
from signaling_server.app import DB_NAME
from signaling_server.model import AddressBan, ChatDraft, PeerId, Place
from signaling_server.sqlite_store import SCHEMA_VERSION, sqlite_store
from signaling_server.store import StoreError

from .conftest import ServerFactory, ServerProcess
from .data.make_0_1_0_db import OUT as DB_0_1_0
from .data.make_0_1_0_db import ROOM, TOKEN
from .stores import StoreAt, postgres, store_at
from .wsclient import Client

__all__ = ["postgres", "store_at"]  # the fixtures of tests/stores.py, for pytest to find


async def _until_pruned(db: Path, timeout_s: float = 5.0) -> None:
    """Wait until the running server's store has deleted every chat message of ``db``."""
    for _ in range(int(timeout_s / 0.05)):
        with contextlib.closing(sqlite3.connect(db)) as reader:
            if reader.execute("SELECT COUNT(*) FROM chat").fetchone()[0] == 0:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{db} still has chat messages after {timeout_s} s")


def _user_version(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        version: int = db.execute("PRAGMA user_version").fetchone()[0]
    return version


async def test_a_0_1_0_database_is_migrated_and_its_history_and_places_served(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / DB_NAME
    shutil.copy(DB_0_1_0, db)
    assert _user_version(db) == 0  # 0.1.0 wrote none
    server = await make_server()
    alice, bob = await Client.open(server.url), await Client.open(server.url)
    a = await alice.join(room=ROOM, username="alice", resume=TOKEN, since=0)
    assert (a["resumed"], a["self"]["id"]) == (True, "a1b2c3d4e5f60718")  # the place 0.1.0 left in grace
    assert [(m["id"], m["text"], m["nonce"]) for m in a["history"]] == [
        (1, "hello from 0.1.0", "n0"),
        (2, "second", "n2"),
        (3, "third", "n3"),
    ]
    assert a.get("history_truncated") is None
    await alice.send({"type": "chat", "text": "after the upgrade"})
    assert (await alice.expect("chat"))["id"] == 4  # the room's ids go on
    b = await bob.join(room="lobby", username="bob", since=0)
    assert [m["text"] for m in b["history"]] == ["elsewhere"]
    await bob.send({"type": "chat", "text": "lobby too"})
    assert (await bob.expect("chat"))["id"] == 2
    for client in (alice, bob):
        await client.close()
    assert _user_version(db) == SCHEMA_VERSION


async def test_history_days_prunes_a_migrated_room_to_empty_and_its_ids_go_on(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / DB_NAME
    shutil.copy(DB_0_1_0, db)  # its messages are from November 2025
    server = await make_server(history_days=30)
    await _until_pruned(db)  # start-up pruning runs on the store thread, beside the serving
    alice = await Client.open(server.url)
    a = await alice.join(room=ROOM, username="alice", resume=TOKEN, since=0)
    assert (a["resumed"], a["history"], a["history_truncated"]) == (True, [], True)
    await alice.send({"type": "chat", "text": "new"})
    assert (await alice.expect("chat"))["id"] == 4
    await alice.close()


def test_every_older_schema_is_migrated_and_then_served(store_at: StoreAt) -> None:
    empty = store_at.database(up_to=0)
    steps = len(empty.migrations)
    empty.close()
    for version in range(steps):  # 0: an empty database
        at = store_at.another()
        older = at.database(up_to=version)
        older.begin()
        assert older.schema_version() == version
        older.commit()
        older.close()
        store = at.open()
        store.begin()
        assert store.db.schema_version() == steps
        assert store.append_chat(ChatDraft("den", PeerId("p1"), "mia", "hi", 0, "n1")).id == 1
        store.save_place(Place(PeerId("p1"), "den", "mia", "h", role=Role.MODERATOR))
        store.save_ban(AddressBan("203.0.113.2", 2000.0, "spam"))
        store.commit()
        store.begin()
        assert [m.text for m in store.history("den", 0, 1 << 20)[0]] == ["hi"]
        assert [p.role for p in store.load_places()] == [Role.MODERATOR]
        assert store.load_bans(1000.0) == [AddressBan("203.0.113.2", 2000.0, "spam")]
        store.commit()
        store.close()


def test_reopening_a_current_database_changes_nothing(
    store_at: StoreAt, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="voxroom.store"):
        store_at.open().close()
        migrated = len(caplog.records)
        store = store_at.open()
    assert migrated == len(store.db.migrations)  # one line per step, the first time only
    assert len(caplog.records) == migrated
    store.begin()
    assert store.db.schema_version() == len(store.db.migrations)
    store.commit()
    store.close()


def test_a_database_from_a_newer_server_is_refused(store_at: StoreAt) -> None:
    db = store_at.database()
    newer = len(db.migrations) + 1
    db.begin()
    db.set_schema_version(newer)
    db.commit()
    db.close()
    for _ in range(2):  # and it is left as it was
        with pytest.raises(StoreError, match=f"has schema version {newer}, written by a newer"):
            store_at.database()
    if store_at.url is None:
        assert _user_version(store_at.path) == newer


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / DB_NAME
    path.write_bytes(b"not a database, but 100 bytes long " * 3)
    with pytest.raises(StoreError, match=r"cannot open the database .*: file is not a database"):
        sqlite_store(path)


def test_the_server_stops_with_a_message_on_a_newer_database(
    server_process: Callable[..., ServerProcess],
) -> None:
    proc = server_process()
    proc.data_dir.mkdir()
    with contextlib.closing(sqlite3.connect(proc.data_dir / DB_NAME)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="did not start"):
        proc.start()
    assert proc.proc is not None
    assert proc.proc.returncode == 1
    err = proc.kill(signal.SIGTERM).decode()
    assert f"cannot start: {proc.data_dir / DB_NAME} has schema version {SCHEMA_VERSION + 1}" in err
    assert "Traceback" not in err


def test_bans_and_moderation_state_of_places_survive_a_reopen_and_expired_bans_go(
    store_at: StoreAt,
) -> None:
    store = store_at.open()
    store.begin()
    store.save_ban(AddressBan("203.0.113.2", 2000.0, "spam"))
    store.save_ban(AddressBan("203.0.113.3", 1000.0, ""))
    store.save_place(Place(PeerId("p1"), "den", "mia", "h", role=Role.MODERATOR, server_muted=True))
    store.commit()
    store.close()
    store = store_at.open()
    store.begin()
    assert store.load_bans(1000.0) == [AddressBan("203.0.113.2", 2000.0, "spam")]
    assert store.load_bans(0.0) == [AddressBan("203.0.113.2", 2000.0, "spam")]  # the expired one is gone
    (place,) = store.load_places()
    assert (place.role, place.server_muted) == (Role.MODERATOR, True)
    store.commit()
    store.close()
