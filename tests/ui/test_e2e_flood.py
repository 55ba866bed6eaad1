"""The real app while a peer floods the chat at the rate limit: every line shown, the app still answers.

How long the event loop is held meanwhile is a speed figure: bench/chat_flood_bench.py.
"""

import asyncio
import json
from pathlib import Path

from client_desktop.ui.driver import PREFIX
from protocol import limits
from signaling_server.app import RunningServer

from ..conftest import ClientFactory
from .launch import app_env
from .test_e2e import Proc

FLOOD = limits.DEFAULT_CHAT_BURST + 20
"""The whole burst at once, then one second at the sustained rate."""


async def test_a_peer_flooding_at_the_rate_limit_is_shown_whole_and_the_app_goes_on(
    server: RunningServer, connect: ClientFactory, tmp_path: Path
) -> None:
    env = app_env(tmp_path)
    app = await Proc.start(
        "-m",
        "client_desktop",
        *("--server", server.url, "--room", "lobby", "--username", "alice"),
        *("--join", "--no-audio", "--test-driver"),
        env=env,
    )
    async with app:
        await app.event("joined")
        flooder = await connect()
        await flooder.join(username="flood", voice=False)
        texts = [f"{i:03d} @alice " + f"word{i} " * 280 for i in range(FLOOD)]
        burst, sustained = texts[: limits.DEFAULT_CHAT_BURST], texts[limits.DEFAULT_CHAT_BURST :]
        for text in burst:
            await flooder.send({"type": "chat", "text": text})
        # The server's bucket counts from when it read the burst's first line, which a loaded box may
        # delay; pacing from when the app has the burst's last line keeps the rest within the rate.
        await app.event("chat", username="flood", text=burst[-1].strip(), timeout=30)
        for text in sustained:
            await asyncio.sleep(1 / limits.DEFAULT_CHAT_RATE_PER_S)
            await flooder.send({"type": "chat", "text": text})
        await app.event("chat", username="flood", text=texts[-1].strip(), timeout=30)
        await app.send("say still here")
        await app.event("chat", username="alice", own=True, shown=True)
        seen = [
            json.loads(line.removeprefix(PREFIX))
            for line in app.lines
            if line.startswith(PREFIX) and '"username": "flood"' in line
        ]
        assert [(e["text"], e["shown"]) for e in seen] == [(t.strip(), True) for t in texts]
        await app.send("quit")
        assert await app.stop() == 0
