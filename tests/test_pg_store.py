"""PostgreSQL as the store: PostgreSQL going away and coming back under a running server, shared use.

The rules both engines share are tested on both (test_server_retention.py,
test_store_migrations.py, test_server_restart.py); here is what only
PostgreSQL has: a server process that outlives its database's restarts, and
a database that several writers may share.
"""

import asyncio
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("psycopg", reason="the PostgreSQL driver is not installed: pip install -e '.[dev]'")

from signaling_server.app import start
from signaling_server.config import ServerConfig
from signaling_server.model import ChatDraft, PeerId
from signaling_server.pg_store import CONNECT_TIMEOUT_S, RECONNECT_MAX_S, PostgresDatabase
from signaling_server.store import Store, StoreError, StoreThread, UncertainCommitError

from .conftest import ServerProcess, free_port
from .stores import postgres
from .support.postgres import Postgres
from .wsclient import Client

__all__ = ["postgres"]  # the fixture of tests/stores.py, for pytest to find

RECOVERY_S = RECONNECT_MAX_S + CONNECT_TIMEOUT_S + 1.0
"""The longest a running server may take to use PostgreSQL again once it is back."""


@contextlib.contextmanager
def restarted_in_the_end(cluster: Postgres) -> Iterator[None]:
    """Whatever happens in the block, the module's cluster is running after it."""
    try:
        yield
    finally:
        if not cluster.running:
            cluster.start()


async def chat_until_saved(client: Client, text: str, timeout_s: float) -> dict[str, Any]:
    """Send ``text`` until the server saves it (refusals are ``storage-failed``); the chat."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        await client.send({"type": "chat", "text": text})
        reply = await client.recv()
        while reply["type"] in ("peer-joined", "peer-left", "peer-state"):
            reply = await client.recv()
        if reply["type"] == "chat":
            return reply
        assert (reply["type"], reply["code"]) == ("error", "storage-failed"), reply
        await asyncio.sleep(0.1)
    raise AssertionError(f"no chat was saved within {timeout_s} s")


async def test_while_postgresql_is_down_chats_fail_and_presence_and_signaling_go_on_until_it_is_back(
    postgres: Postgres, server_process: Callable[..., ServerProcess]
) -> None:
    with postgres.database() as url, restarted_in_the_end(postgres):
        proc = server_process("--database", url)
        proc.start()
        alice, bob = await Client.open(proc.url), await Client.open(proc.url)
        a = await alice.join(username="alice")
        b = await bob.join(username="bob")
        await alice.expect("peer-joined")
        await alice.send({"type": "chat", "text": "saved"})
        assert (await bob.expect("chat"))["id"] == 1
        await alice.expect("chat")

        await asyncio.to_thread(postgres.stop)
        for i in range(3):
            await alice.send({"type": "chat", "text": f"unsaved {i}"})
            error = await alice.expect("error")
            assert (error["code"], error["ref"]) == ("storage-failed", "chat")
        await bob.nothing(0.3)  # nothing unsaved was broadcast
        carol = await Client.open(proc.url)
        c = await carol.join(username="carol")
        assert [p["username"] for p in c["peers"]] == ["alice", "bob"]
        for client in (alice, bob):
            assert (await client.expect("peer-joined"))["peer"]["id"] == c["self"]["id"]
        await alice.send({"type": "signal", "target": b["self"]["id"], "payload": {"kind": "bye"}})
        assert (await bob.expect("signal"))["payload"] == {"kind": "bye"}
        await bob.send({"type": "state", "muted": True})
        assert (await alice.expect("peer-state"))["muted"] is True

        await asyncio.to_thread(postgres.start)
        back = time.monotonic()
        chat = await chat_until_saved(alice, "back", RECOVERY_S)
        assert chat["id"] == 2  # the refused chats took no id
        assert time.monotonic() - back < RECOVERY_S
        assert (await bob.expect("chat", skip=("peer-state",)))["text"] == "back"
        assert (await carol.expect("chat", skip=("peer-state",)))["id"] == 2
        for client in (alice, bob, carol):
            await client.close()
        log = (await proc.stop(signal.SIGTERM)).decode()
    assert a["self"]["id"]
    assert f"data in {url}" in log  # named by its URL (which holds no password here)
    assert "lost the connection to PostgreSQL" in log
    assert "connected to PostgreSQL at" in log
    assert "again" in log
    assert "Traceback" not in log


async def test_a_restart_of_postgresql_while_the_server_is_idle_loses_no_chat(
    postgres: Postgres, server_process: Callable[..., ServerProcess]
) -> None:
    with postgres.database() as url, restarted_in_the_end(postgres):
        proc = server_process("--database", url)
        proc.start()
        alice = await Client.open(proc.url)
        await alice.join(username="alice")
        await alice.send({"type": "chat", "text": "one"})
        await alice.expect("chat")
        await asyncio.to_thread(postgres.restart)
        # Its connection died while idle: found dead at the first statement, it is made again.
        await alice.send({"type": "chat", "text": "two"})
        assert (await alice.expect("chat"))["id"] == 2
        await alice.close()
        await proc.stop(signal.SIGTERM)


async def test_a_server_whose_postgresql_cannot_be_reached_does_not_start() -> None:
    url = f"postgresql://voxroom:pw-not-shown@127.0.0.1:{free_port()}/voxroom"
    with pytest.raises(StoreError, match="is unreachable") as refused:
        await start(ServerConfig(host="127.0.0.1", port=0, database=url))
    assert "Connection refused" in str(refused.value)  # libpq's reason, whole
    assert "pw-not-shown" not in str(refused.value)
    assert "postgresql://voxroom@127.0.0.1:" in str(refused.value)


async def test_without_the_driver_the_server_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what a lean install has: no psycopg
    monkeypatch.delitem(sys.modules, "signaling_server.pg_store")
    with pytest.raises(StoreError, match=r"pip install 'voxroom\[cluster\]'"):
        await start(ServerConfig(host="127.0.0.1", port=0, database="postgresql://h/db", data_dir=tmp_path))


def test_writers_sharing_one_database_give_each_room_gapless_ids(postgres: Postgres) -> None:
    """Several stores on one database, as several servers will be: no id twice, none skipped."""
    writers, chats, rooms = 4, 30, ("a", "b")
    with postgres.database() as url:
        stores = [Store(PostgresDatabase(url)) for _ in range(writers)]
        ids: dict[str, list[int]] = {room: [] for room in rooms}
        lock = threading.Barrier(writers)

        def write(store: Store) -> None:
            lock.wait()
            for n in range(chats):
                room = rooms[n % len(rooms)]
                store.begin()
                posted = store.append_chat(ChatDraft(room, PeerId("p1"), "mia", f"{n}", 0, None))
                if n % 5 == 4:  # a failed write gives its id back
                    store.rollback()
                    continue
                store.commit()
                ids[room].append(posted.id)

        threads = [threading.Thread(target=write, args=(store,)) for store in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        saved = writers * (chats - chats // 5) // len(rooms)
        for room in rooms:
            assert sorted(ids[room]) == list(range(1, saved + 1))
            stores[0].begin()
            history, _ = stores[0].history(room, 0, 1 << 30)
            stores[0].commit()
            assert [m.id for m in history] == list(range(1, saved + 1))
        for store in stores:
            store.close()


def test_servers_opening_an_empty_database_together_migrate_it_once(
    postgres: Postgres, caplog: pytest.LogCaptureFixture
) -> None:
    with postgres.database() as url, caplog.at_level(logging.INFO, logger="voxroom.store"):
        opened: list[PostgresDatabase] = []
        start_together = threading.Barrier(4)

        def open_one() -> None:
            start_together.wait()
            opened.append(PostgresDatabase(url))

        threads = [threading.Thread(target=open_one) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(opened) == 4
        steps = len(opened[0].migrations)
        assert [r.getMessage() for r in caplog.records] == [
            f"database schema now at version {n}" for n in range(1, steps + 1)
        ]
        for db in opened:
            db.close()


async def test_a_batch_whose_commit_is_cut_off_fails_whole_and_is_not_run_again(postgres: Postgres) -> None:
    """Run again, a batch that PostgreSQL did commit would be saved twice: so it fails, as uncertain."""
    with postgres.database() as url:
        store = Store(PostgresDatabase(url))
        store.begin()
        ((backend,),) = store.db.rows("SELECT pg_backend_pid()")
        store.commit()
        thread = StoreThread(store)
        try:

            def cut_off(_: Store) -> None:  # another session ends ours before our COMMIT
                postgres.admin(f"SELECT pg_terminate_backend({int(backend)})")

            running, held = threading.Event(), threading.Event()

            def hold(_: Store) -> bool:  # while it runs, the next two queue up: one batch
                running.set()
                return held.wait(5)

            first = thread.submit(hold)
            assert await asyncio.to_thread(running.wait, 5)
            draft = ChatDraft("den", PeerId("p1"), "mia", "cut off", 0, "n1")
            posted = thread.submit(Store.append_chat, draft)
            cutting = thread.submit(cut_off)
            held.set()
            assert await first is True
            for future in (posted, cutting):
                with pytest.raises(UncertainCommitError, match="during COMMIT"):
                    await future
            history, _ = await thread.submit(Store.history, "den", 0, 1 << 20)
            assert history == []  # cut off before COMMIT: not saved, and not saved again by a retry
            again = await thread.submit(Store.append_chat, draft)
            assert again.id == 1
        finally:
            await asyncio.to_thread(thread.stop)
