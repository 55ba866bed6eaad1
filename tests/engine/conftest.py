"""Engine fixtures: a PulseAudio daemon with null sinks, so sound "devices" are real."""

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SINKS = ("in_a", "out_a", "in_b", "out_b")


@pytest.fixture(scope="session")
def pulse() -> Iterator[dict[str, str]]:
    """A private PulseAudio with four 48 kHz mono null sinks; yields the env to reach it."""
    if shutil.which("pulseaudio") is None:
        pytest.fail(
            "pulseaudio is not installed: run ./dev test (it installs it) or apt-get install pulseaudio"
        )
    runtime = Path(tempfile.mkdtemp(prefix="vx-pulse-"))
    env = {
        **os.environ,
        "XDG_RUNTIME_DIR": str(runtime),
        "HOME": str(runtime),
        "PULSE_RUNTIME_PATH": str(runtime),
    }
    sinks = [f"--load=module-null-sink sink_name={name} rate=48000 channels=1" for name in SINKS]
    cmd = ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--system=false", "--disallow-exit", "-n"]
    cmd += ["--load=module-native-protocol-unix", *sinks, "--log-target=stderr", "--log-level=error"]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("PulseAudio did not start")
        time.sleep(0.05)
    yield env
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(runtime, ignore_errors=True)
