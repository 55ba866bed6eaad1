"""Plain HTTP on the WebSocket port: /health, /metrics, and a clear 404."""

import asyncio
import json
import urllib.error
import urllib.request

import pytest

from signaling_server import __version__
from signaling_server.app import RunningServer

from .conftest import ClientFactory


def _get(server: RunningServer, path: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


async def test_health_counts_clients_peers_and_rooms(server: RunningServer, connect: ClientFactory) -> None:
    await (await connect()).join(room="a", username="x")
    await (await connect()).join(room="b", username="y")
    await connect()  # connected, not joined
    status, ctype, body = await asyncio.to_thread(_get, server, "/health")
    health = json.loads(body)
    assert (status, ctype) == (200, "application/json")
    assert health["status"] == "ok"
    assert health["version"] == __version__
    assert (health["rooms"], health["clients"], health["peers"]) == (2, 3, 2)
    assert health["uptime_s"] >= 0


async def test_metrics_are_prometheus_text(server: RunningServer, connect: ClientFactory) -> None:
    client = await connect()
    await client.join()
    await client.send({"type": "chat", "text": "hi"})
    await client.expect("chat")
    await client.send("junk")
    await client.expect("error")
    status, ctype, body = await asyncio.to_thread(_get, server, "/metrics")
    assert status == 200
    assert ctype.startswith("text/plain; version=0.0.4")
    lines = set(body.splitlines())
    assert "voxroom_chats_persisted_total 1.0" in lines
    assert 'voxroom_errors_sent_total{code="bad-message"} 1.0' in lines
    assert "voxroom_connections 1.0" in lines
    assert any(line.startswith("process_resident_memory_bytes") for line in lines)


@pytest.mark.parametrize("path", ["/", "/healthz", "/ws/x"])
async def test_other_paths_are_404_with_a_hint(server: RunningServer, path: str) -> None:
    status, _, body = await asyncio.to_thread(_get, server, path)
    assert status == 404
    assert "/health" in body
