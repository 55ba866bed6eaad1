"""A private X server (Xvfb) with another program's window focused, driven with ``xdotool``.

Push-to-talk outside the window is only real if it works while some other
window has the focus, so the fixture starts Xvfb, opens ``xmessage`` on it,
focuses that, and stops both whatever the test's outcome.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class XServer:
    display: str
    """``:N``, for ``Display(...)`` and ``DISPLAY``."""
    other_window: int
    """The focused window of another program (xmessage)."""

    def xdotool(self, *args: str) -> str:
        done = subprocess.run(
            ["xdotool", *args],
            env={**os.environ, "DISPLAY": self.display},
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            check=True,
        )
        return done.stdout.strip()

    def focused(self) -> int:
        return int(self.xdotool("getwindowfocus"))


def _start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """Xvfb on a display number it picks itself (``-displayfd``), so parallel runs never collide."""
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0", "800x600x24"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        proc.kill()
        proc.wait()
        raise RuntimeError("Xvfb did not start")
    return proc, f":{number}"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(START_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def xserver() -> Iterator[XServer]:
    missing = [tool for tool in ("Xvfb", "xdotool", "xmessage") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (./dev test installs xvfb and xdotool)")
    xvfb, display = _start_xvfb()
    other: subprocess.Popen[bytes] | None = None
    try:
        env = {**os.environ, "DISPLAY": display}
        other = subprocess.Popen(["xmessage", "-name", "other-program", "another program's window"], env=env)
        server = XServer(display, 0)
        window = int(server.xdotool("search", "--sync", "--classname", "other-program").split()[0])
        server.xdotool("windowfocus", "--sync", str(window))
        yield XServer(display, window)
    finally:
        if other is not None:
            _stop(other)
        _stop(xvfb)
