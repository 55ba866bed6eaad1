"""Restarts lose nothing: kill -9 keeps history, id sequence and places; SIGTERM says 1001 (both engines)."""

import signal
from collections.abc import Callable

from websockets.frames import CloseCode

from .conftest import ServerProcess
from .stores import database_flags, postgres
from .wsclient import Client

__all__ = ["database_flags", "postgres"]  # the fixtures of tests/stores.py, for pytest to find


async def test_kill_9_keeps_history_ids_and_places(
    server_process: Callable[..., ServerProcess], database_flags: tuple[str, ...]
) -> None:
    proc = server_process(*database_flags, "--grace", "10")
    proc.start()
    alice, bob = await Client.open(proc.url), await Client.open(proc.url)
    a = await alice.join(username="alice")
    b = await bob.join(username="bob")
    await alice.expect("peer-joined")
    for i in range(3):
        await alice.send({"type": "chat", "text": f"before {i}", "nonce": f"n{i}"})
        await bob.expect("chat")  # seen by someone: must survive kill -9
    proc.kill(signal.SIGKILL)
    proc.start()
    alice2, bob2 = await Client.open(proc.url), await Client.open(proc.url)
    a2 = await alice2.join(username="alice", resume=a["resume"], since=0)
    assert a2["resumed"] is True
    assert a2["self"]["id"] == a["self"]["id"]
    assert [(m["id"], m["text"], m["nonce"]) for m in a2["history"]] == [
        (1, "before 0", "n0"),
        (2, "before 1", "n1"),
        (3, "before 2", "n2"),
    ]
    assert [p["id"] for p in a2["peers"]] == [b["self"]["id"]]  # bob's place waits for him
    b2 = await bob2.join(username="bob", resume=b["resume"], since=3)
    assert b2["resumed"] is True
    assert b2["history"] == []
    await alice2.nothing(0.3)  # bob came back without peer-left / peer-joined churn
    await bob2.send({"type": "chat", "text": "after"})
    assert (await alice2.expect("chat"))["id"] == 4
    for c in (alice2, bob2):
        await c.close()


async def test_sigterm_closes_with_1001_and_clients_resume(
    server_process: Callable[..., ServerProcess], database_flags: tuple[str, ...]
) -> None:
    proc = server_process(*database_flags)
    proc.start()
    alice = await Client.open(proc.url)
    a = await alice.join(username="alice")
    await alice.send({"type": "chat", "text": "persisted"})
    await alice.expect("chat")
    err = await proc.stop(signal.SIGTERM)
    assert (await alice.closed())[0] == CloseCode.GOING_AWAY
    assert proc.proc is not None
    assert proc.proc.returncode == 0
    assert b"Traceback" not in err
    assert b"persisted" not in err  # chat text is never logged
    proc.start()
    back = await Client.open(proc.url)
    again = await back.join(username="alice", resume=a["resume"])
    assert again["resumed"] is True
    assert [m["text"] for m in again["history"]] == ["persisted"]
    await back.close()


async def test_unresumed_places_are_given_up_after_the_grace_period(
    server_process: Callable[..., ServerProcess],
) -> None:
    proc = server_process("--grace", "0.5")
    proc.start()
    ghost = await Client.open(proc.url)
    g = await ghost.join(username="ghost")
    proc.kill(signal.SIGKILL)
    proc.start()
    watcher = await Client.open(proc.url)
    w = await watcher.join(username="watcher")
    assert [p["id"] for p in w["peers"]] == [g["self"]["id"]]
    assert (await watcher.expect("peer-left", timeout=3.0))["id"] == g["self"]["id"]
    await watcher.close()


async def test_log_has_one_line_per_event_and_never_text_or_password(
    server_process: Callable[..., ServerProcess],
) -> None:
    proc = server_process("--log-level", "debug", "--password", "hunter2-secret")
    proc.start()
    client = await Client.open(proc.url)
    joined = await client.join(room="den", username="alice", password="hunter2-secret")
    await client.send({"type": "chat", "text": "my private words"})
    await client.expect("chat")
    await client.send("garbage")
    await client.expect("error")
    await client.send({"type": "leave"})
    await client.closed()
    log = (await proc.stop(signal.SIGTERM)).decode()
    peer = joined["self"]["id"]
    assert f"joined room=den peer={peer}" in log
    assert f"left room=den peer={peer}" in log
    assert "error code=bad-message" in log
    assert "hunter2" not in log
    assert "private words" not in log
