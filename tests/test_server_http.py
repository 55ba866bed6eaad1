"""Plain HTTP on the WebSocket port: /health, /metrics (with its optional token), and a clear 404."""

import asyncio
import json
import platform
import urllib.error
import urllib.request
from email.message import Message

import pytest

from signaling_server import __version__
from signaling_server.app import RunningServer

from .conftest import ClientFactory, ServerFactory


def _get(server: RunningServer, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    status, response_headers, body = _request(server, path, headers or {})
    return status, response_headers["Content-Type"], body


def _request(server: RunningServer, path: str, headers: dict[str, str]) -> tuple[int, Message, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


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


LATENCIES = ("voxroom_join_seconds", "voxroom_chat_commit_seconds", "voxroom_fanout_seconds")


async def test_metrics_are_prometheus_text(server: RunningServer, connect: ClientFactory) -> None:
    before = set((await asyncio.to_thread(_get, server, "/metrics"))[2].splitlines())
    assert {f"{name}_count 0.0" for name in LATENCIES} <= before
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
    assert f'voxroom_build_info{{python="{platform.python_version()}",version="{__version__}"}} 1.0' in lines
    # One join, one chat committed and fanned out: each timed once, within a second.
    assert {f"{name}_count 1.0" for name in LATENCIES} <= lines
    assert {f'{name}_bucket{{le="1.0"}} 1.0' for name in LATENCIES} <= lines


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer wrong", 401),
        ("Bearer s3cret-but-longer", 401),
        ("Basic s3cret", 401),
        ("s3cret", 401),
        ("Bearer s3cret", 200),
        ("bearer s3cret", 200),  # the scheme is case-insensitive (RFC 9110 11.1)
    ],
)
async def test_a_metrics_token_is_asked_for(
    make_server: ServerFactory, authorization: str | None, status: int
) -> None:
    server = await make_server(metrics_token="s3cret")
    headers = {"Authorization": authorization} if authorization else {}
    answer, response_headers, body = await asyncio.to_thread(_request, server, "/metrics", headers)
    assert answer == status
    if status == 401:
        assert response_headers["WWW-Authenticate"] == 'Bearer realm="voxroom-metrics"'
        assert "voxroom_" not in body
    else:
        assert "voxroom_build_info" in body
    assert (await asyncio.to_thread(_get, server, "/health"))[0] == 200  # health stays open


@pytest.mark.parametrize("path", ["/", "/healthz", "/ws/x"])
async def test_other_paths_are_404_with_a_hint(server: RunningServer, path: str) -> None:
    status, _, body = await asyncio.to_thread(_get, server, path)
    assert status == 404
    assert "/health" in body
