"""The real app as a subprocess (offscreen, no sound card) in a room with a real server and a bot.

The app runs with ``--test-driver``: it prints a ``VOXROOM {json}`` line for
what its widgets show and takes commands on stdin. A plain websocket
client watches the room as a third person, to see the app's mute from the
other side.
"""

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from client_desktop.ui.driver import PREFIX
from signaling_server.app import RunningServer

from ..conftest import ClientFactory, free_port
from .launch import app_env

TIMEOUT_S = 15.0
Event = dict[str, Any]


class Proc:
    """A child process whose stdout lines are collected and can be waited for."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._seen = asyncio.Condition()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, *args: str, env: dict[str, str]) -> "Proc":
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            async with self._seen:
                self.lines.append(raw.decode().rstrip("\n"))
                self._seen.notify_all()

    async def line(self, match: Callable[[str], bool], timeout: float = TIMEOUT_S) -> str:
        async with self._seen:
            found: list[str] = []

            def check() -> bool:
                found[:] = [line for line in self.lines if match(line)]
                return bool(found)

            try:
                await asyncio.wait_for(self._seen.wait_for(check), timeout)
            except TimeoutError:
                raise AssertionError("not seen; output was:\n" + "\n".join(self.lines)) from None
            return found[0]

    async def event(self, event: str, timeout: float = TIMEOUT_S, **fields: Any) -> Event:
        def match(line: str) -> bool:
            if not line.startswith(PREFIX):
                return False
            data = json.loads(line.removeprefix(PREFIX))
            return bool(data["event"] == event and all(data.get(k) == v for k, v in fields.items()))

        return dict(json.loads((await self.line(match, timeout)).removeprefix(PREFIX)))

    async def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()

    async def stop(self) -> int:
        try:
            return await asyncio.wait_for(self.proc.wait(), 10)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
            await self._reader

    async def __aenter__(self) -> "Proc":
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Whatever happened in the block, the process is gone after it (killed if it still runs)."""
        if self.proc.returncode is None:
            self.proc.kill()
            await self.stop()


@pytest.fixture
async def bot(server: RunningServer, tmp_path: Path) -> AsyncIterator[Proc]:
    args = ["-m", "client_desktop.bot", "--server", server.url, "--room", "lobby", "--username", "bot"]
    args += ["--tone", "440", "--say", "hi from the bot https://example.org", "--duration", "25"]
    proc = await Proc.start(*args, env=dict(os.environ))
    await proc.line(lambda line: line.startswith("* joined lobby"))
    yield proc
    proc.proc.terminate()
    await proc.stop()


async def test_the_app_in_a_room_with_a_bot(
    server: RunningServer, bot: Proc, connect: ClientFactory, tmp_path: Path
) -> None:
    watcher = await connect()
    await watcher.join(room="lobby", username="watcher", voice=False)
    shots = Path(os.environ.get("VOXROOM_SCREENSHOT_DIR", tmp_path))
    env = app_env(tmp_path)
    app = await Proc.start(
        "-m",
        "client_desktop",
        *("--server", server.url, "--room", "lobby", "--username", "alice"),
        *("--join", "--no-audio", "--test-driver"),
        env=env,
    )
    async with app:
        joined = await app.event("joined")
        assert joined["users"] == ["alice", "bot", "watcher"]
        chat = await app.event("chat", username="bot")
        assert chat == {
            "event": "chat",
            "username": "bot",
            "text": "hi from the bot https://example.org",
            "own": False,
            "shown": True,
        }
        await app.event("speaking", name="bot", on=True, timeout=20)

        await app.send("say hello bot, from the app")
        await app.event("chat", username="alice", own=True, shown=True)
        await bot.line(lambda line: line.endswith("] alice: hello bot, from the app"))

        await app.send("click mute")
        state = await watcher.expect("peer-state", skip=("chat", "peer-joined"))
        assert (state["muted"], state["voice"]) == (True, True)

        await app.send("resize 960 620")
        await app.send(f"shot {shots / 'room.png'}")
        await app.event("done", command="shot")
        await app.send(f"shot-settings {shots / 'settings.png'}")
        await app.event("done", command="shot-settings")
        assert (shots / "room.png").stat().st_size > 10_000
        await app.send("palette dark")  # as a system in dark mode gives it
        await app.event("done", command="palette")
        (shots / "room-dark.png").unlink(missing_ok=True)
        await app.send(f"shot {shots / 'room-dark.png'}")
        await app.send("ping")  # answered in order: the shot before it is done
        await app.event("error", message="unknown command 'ping'")
        assert (shots / "room-dark.png").stat().st_size > 10_000
        await app.send("quit")
        assert await app.stop() == 0
        left = await watcher.expect("peer-left", skip=("chat", "peer-state"))
        assert left["id"] == state["id"]


async def test_the_app_hosts_a_room_that_a_bot_joins_at_the_address_it_shows(tmp_path: Path) -> None:
    port = free_port()
    env = {**app_env(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}  # the hosted server's database
    app = await Proc.start(
        "-m",
        "client_desktop",
        *("--host", "--host-port", str(port), "--room", "lobby", "--username", "host"),
        *("--join", "--no-audio", "--test-driver"),
        env=env,
    )
    async with contextlib.AsyncExitStack() as stack, app:
        hosting = await app.event("hosting")
        address = hosting["address"]
        assert address.endswith(f":{port}")
        assert f"Others can join at {address}" in hosting["notice"]
        assert (await app.event("joined"))["users"] == ["host"]
        assert (tmp_path / "data" / "voxroom" / "server").is_dir()

        args = ["-m", "client_desktop.bot", "--server", f"ws://{address}/ws", "--room", "lobby"]
        args += ["--username", "guest", "--no-voice", "--say", "hello host", "--duration", "20"]
        bot = await stack.enter_async_context(await Proc.start(*args, env=dict(os.environ)))
        await bot.line(lambda line: line.startswith("* joined lobby"))
        assert (await app.event("peer-joined", name="guest"))["listed"]
        chat = await app.event("chat", username="guest")
        assert (chat["text"], chat["shown"]) == ("hello host", True)

        await app.send("say welcome, guest")
        await app.event("chat", username="host", own=True, shown=True)
        await bot.line(lambda line: line.endswith("] host: welcome, guest"))

        await app.send("quit")
        assert await app.stop() == 0
