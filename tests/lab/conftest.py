"""The NAT lab's fixtures: skipped cleanly where it cannot be built (``natlab.missing_tools``)."""

import contextlib
import select
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ..support.natlab import Host, missing_tools
from ..support.server import REPO

READY_TIMEOUT_S = 5.0
ASK_TIMEOUT_S = 15.0


@pytest.fixture(autouse=True)
def lab_tools() -> None:
    if missing := missing_tools():
        pytest.skip(f"the NAT lab needs {', '.join(missing)}")


@contextlib.contextmanager
def serving(host: Host, *ports: int) -> Iterator[None]:
    """``probe serve`` in ``host`` on ``ports``, ready inside the block and killed after it."""
    cmd = [*host.prefix, sys.executable, "-m", "tests.lab.probe", "serve", *map(str, ports)]
    with subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], READY_TIMEOUT_S)
            assert ready, "the probe server did not start"
            assert proc.stdout.readline() == b"ready\n"
            yield
        finally:
            proc.kill()


def ask(host: Host, protocol: str, target: str, *ports: int) -> list[str]:
    """``probe ask`` from ``host``: per port, the address the server saw, ``timeout`` or an error."""
    cmd = [*host.prefix, sys.executable, "-m", "tests.lab.probe", "ask", protocol, target, *map(str, ports)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True, timeout=ASK_TIMEOUT_S)
    return done.stdout.split()
