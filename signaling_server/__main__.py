"""``voxroom-server``: run the signaling server until SIGTERM or SIGINT."""

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Sequence

from . import logs
from .app import loop_factory, start
from .config import ServerConfig, parse_command
from .store import StoreError


async def serve_until_signalled(config: ServerConfig) -> None:
    running = await start(config)
    # Thousands of long-lived connections make full collections slow (36-41 ms pauses measured
    # at 500 connections): keep what start-up made out of them, and collect young objects rarely.
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"voxroom-server listening on {running.url}", flush=True)  # the one line people wait for
    await stop.wait()
    logging.getLogger("voxroom.server").info("signal received, closing connections with 1001")
    await running.close()


def main(argv: Sequence[str] | None = None) -> int:
    if list(sys.argv[1:] if argv is None else argv) == ["--selftest"]:
        from .selftest import run

        return run()
    config, check_turn = parse_command(argv)
    logs.configure(config.log_level, config.log_format)
    if check_turn:
        return _check_turn(config)
    # websockets logs every HTTP request at INFO and frame contents (chat text) at DEBUG.
    logging.getLogger("websockets").setLevel(logging.WARNING)
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(serve_until_signalled(config))
    except (OSError, StoreError) as exc:
        logging.getLogger("voxroom.server").error("cannot start: %s", exc)
        return 1
    return 0


def _check_turn(config: ServerConfig) -> int:
    """Imported here: the check needs aioice, which serving does not (pyproject's ``server`` extra has it)."""
    try:
        from .check_turn import run
    except ImportError as exc:
        print(f"--check-turn needs {exc.name}: pip install 'voxroom[server]'", file=sys.stderr)
        return 1
    logging.getLogger("aioice").setLevel(logging.WARNING)  # each allocation at INFO would bury the lines
    return run(config)


if __name__ == "__main__":
    sys.exit(main())
