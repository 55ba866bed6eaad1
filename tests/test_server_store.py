"""A failing disk is logged and answered; the server and the other rooms go on; the data is private."""

import logging
import os
import stat
from pathlib import Path

import pytest

from signaling_server.app import DB_NAME
from signaling_server.sqlite_store import sqlite_store

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


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
async def test_the_data_directory_is_0700_and_the_database_0600(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    old = os.umask(0o022)  # a login shell's usual umask, which leaves files readable by all
    try:
        server = await make_server()
        alice = await Client.open(server.url)
        await alice.join(username="alice")
        await alice.send({"type": "chat", "text": "private"})
        await alice.expect("chat")
        data = tmp_path / "data"
        assert _mode(data) == 0o700
        for name in (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm"):
            assert _mode(data / name) == 0o600, name
        await alice.close()
    finally:
        os.umask(old)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_an_open_data_directory_and_database_are_tightened_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / DB_NAME).touch()
    (data / DB_NAME).chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="voxroom.store"):
        sqlite_store(data / DB_NAME).close()
    assert (_mode(data), _mode(data / DB_NAME)) == (0o700, 0o600)
    assert [r.getMessage() for r in caplog.records] == [
        f"{data} was mode 0755, others could read it: now 0700",
        f"{data / DB_NAME} was mode 0644, others could read it: now 0600",
    ]
