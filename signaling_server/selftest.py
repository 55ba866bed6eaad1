"""``voxroom-server --selftest``: start on a free loopback port, ask /health, stop; one line out.

It proves a build (frozen or not) can serve: the event loop, websockets, the
SQLite store (in a temporary directory) and the HTTP side all work. Exit 0
with ``voxroom-server selftest ok: ...``, else 1 with what failed.
"""

import asyncio
import json
import tempfile
import time
import urllib.request
from pathlib import Path

from .app import start
from .config import ServerConfig


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own http:// URL
        body: dict[str, object] = json.loads(response.read())
        return body


async def _check(data_dir: Path) -> str:
    began = time.monotonic()
    running = await start(ServerConfig(host="127.0.0.1", port=0, data_dir=data_dir, log_level="warning"))
    try:
        health = await asyncio.to_thread(_get, f"http://127.0.0.1:{running.port}/health")
    finally:
        await running.close()
    if health.get("status") != "ok":
        raise RuntimeError(f"/health said {health}")
    elapsed_ms = (time.monotonic() - began) * 1000
    return f"health=ok version={health.get('version')} start_to_health_ms={elapsed_ms:.0f}"


def run() -> int:
    with tempfile.TemporaryDirectory(prefix="voxroom-server-selftest-") as tmp:
        try:
            report = asyncio.run(_check(Path(tmp)))
        except Exception as exc:  # the one line must say what failed, whatever it was
            print(f"voxroom-server selftest FAILED: {type(exc).__name__}: {exc}", flush=True)
            return 1
    print(f"voxroom-server selftest ok: {report}", flush=True)
    return 0
