"""A private D-Bus session bus (``dbus-daemon``) for the tests of what the app says to the desktop,
and a real notification server on it (dunst, on a private X server).

The bus's configuration lists no service directories, so nothing is started
on demand: a name is owned only by what the test runs on it, and a name
nobody owns fails as it does on a desktop without that service.
"""

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .xserver import XServer

STOP_TIMEOUT_S = 10.0
START_TIMEOUT_S = 10.0

_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


def stop(proc: "subprocess.Popen[bytes]") -> None:
    proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass(frozen=True)
class BusDaemon:
    address: str
    proc: "subprocess.Popen[bytes]"

    def stop(self) -> None:
        """The bus goes away, as when a session ends (again: a no-op)."""
        stop(self.proc)


@pytest.fixture
def bus_daemon(tmp_path: Path) -> Iterator[BusDaemon]:
    """A bus of our own, stopped after the test."""
    if shutil.which("dbus-daemon") is None:
        pytest.skip("needs dbus-daemon (./dev test installs dbus)")
    config = tmp_path / "bus.conf"
    config.write_text(_CONFIG.format(dir=tmp_path))
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile", f"--print-address={write}"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as pipe:
            address = pipe.readline().strip()
        if not address:
            raise RuntimeError("dbus-daemon did not start")
        yield BusDaemon(address, proc)
    finally:
        stop(proc)


@pytest.fixture
def session_bus(bus_daemon: BusDaemon) -> str:
    """The address of a bus of our own."""
    return bus_daemon.address


DUNSTRC = """[global]
markup = full
format = "%s|%b"
"""
"""A server that reads the body as markup, as most do; the format joins summary and body with ``|``."""


@dataclass(frozen=True)
class Dunst:
    bus: str

    def ctl(self, *args: str) -> str:
        done = subprocess.run(
            ["dunstctl", *args],
            env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": self.bus},
            capture_output=True,
            text=True,
            timeout=STOP_TIMEOUT_S,
            check=True,
        )
        return done.stdout.strip()

    def history(self) -> list[dict[str, object]]:
        """Every notification so far, newest first, after closing those still shown (dunst keeps
        only closed ones in its history): ``summary``, ``body`` as received, ``message`` as rendered
        (markup)."""
        self.ctl("close-all")
        (entries,) = json.loads(self.ctl("history"))["data"]
        return [{name: field["data"] for name, field in entry.items()} for entry in entries]


@pytest.fixture
def dunst(session_bus: str, xserver: XServer, tmp_path: Path) -> Iterator[Dunst]:
    """dunst, the notification server, owning ``org.freedesktop.Notifications`` on the private bus."""
    if shutil.which("dunst") is None:
        pytest.skip("needs dunst (./dev test installs it)")
    config = tmp_path / "dunstrc"
    config.write_text(DUNSTRC)
    env = {**os.environ, "DISPLAY": xserver.display, "DBUS_SESSION_BUS_ADDRESS": session_bus}
    proc = subprocess.Popen(
        ["dunst", "-conf", str(config)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        server = Dunst(session_bus)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:  # until it owns its name on the bus
            try:
                server.ctl("count", "displayed")
                break
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("dunst did not start") from None
                time.sleep(0.05)
        yield server
    finally:
        stop(proc)
