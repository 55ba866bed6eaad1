"""The Redis and HAProxy launchers the multi-instance tests stand on: they start, serve, stop, restart."""

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path

from websockets.protocol import State

from .support.haproxy import Haproxy
from .support.redis import Redis
from .support.server import ServerProcess
from .wsclient import Client

TAKEN_OUT_WITHIN_S = 1.5


def test_redis_answers_and_restarts_on_its_port_empty(tmp_path: Path) -> None:
    redis = Redis(tmp_path)
    with redis:
        assert redis.url == f"redis://127.0.0.1:{redis.port}/0"
        assert redis.send("PING") == b"PONG"
        assert redis.send("SET", "room:den", "1") == b"OK"
        pid = redis.pid
        redis.restart()
        assert (redis.pid != pid, redis.send("PING")) == (True, b"PONG")
        assert redis.send("GET", "room:den") is None  # nothing persists unless asked
        redis.kill()
        assert not redis.running
        assert "Ready to accept connections" in redis.log_tail()
        redis.start()
    assert not redis.running
    assert redis.pid_path is not None
    assert not redis.pid_path.exists()
    redis.stop()  # idempotent


def test_redis_asked_to_persist_keeps_every_write_through_a_kill(tmp_path: Path) -> None:
    with Redis(tmp_path, persist=True) as redis:
        redis.send("SET", "chat:1", "hello")
        redis.kill()
        redis.start()
        assert redis.send("GET", "chat:1") == b"hello"


@contextlib.asynccontextmanager
async def instances(tmp_path: Path, count: int) -> AsyncIterator[list[ServerProcess]]:
    """``count`` server processes, each with its own data folder, stopped at the end."""
    servers = []
    try:
        for i in range(count):
            (tmp_path / f"s{i}").mkdir()
            servers.append(ServerProcess(tmp_path / f"s{i}"))
            await asyncio.to_thread(servers[-1].start)
        yield servers
    finally:
        for server in servers:
            await asyncio.to_thread(server.close)


async def _closes(client: Client, within_s: float = 1.0) -> bool:
    """Whether the connection is closed within ``within_s``."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(client.ws.wait_closed(), within_s)
    return client.ws.state is State.CLOSED


async def test_haproxy_alternates_instances_and_takes_a_killed_one_out(tmp_path: Path) -> None:
    async with instances(tmp_path, 2) as (a, b):
        with Haproxy(tmp_path, [("127.0.0.1", a.port), ("127.0.0.1", b.port)]) as proxy:
            assert proxy.url == f"ws://127.0.0.1:{proxy.port}/ws"
            for index in (0, 1):
                await asyncio.to_thread(proxy.wait_state, index, "UP")
            clients = [await Client.open(proxy.url) for _ in range(4)]
            for i, client in enumerate(clients):
                await client.join(room="den", username=f"p{i}")  # the protocol passes through
            assert [a.health()["clients"], b.health()["clients"]] == [2, 2]

            await a.stop(signal.SIGKILL)
            taken_out_s = await asyncio.to_thread(proxy.wait_state, 0, "DOWN")
            assert taken_out_s < TAKEN_OUT_WITHIN_S, proxy.log_tail()
            lost = await asyncio.gather(*(_closes(client) for client in clients))
            assert sum(lost) == 2  # a's clients, and only theirs
            late = [await Client.open(proxy.url) for _ in range(2)]
            assert b.health()["clients"] == 4
            for client in clients + late:
                await client.close()
        assert "instances/s0 is DOWN" in proxy.log_tail()
    assert not proxy.running
