"""A private PulseAudio daemon with null sinks: real sound cards on a machine without one.

FIELD-NOTES, "System packages": PortAudio reaches it through ALSA's pulse
plugin as device ``pulse``; a process picks its sink and source with
``PULSE_SINK``/``PULSE_SOURCE``, or opens ALSA devices named in ``alsa_pcms``.
"""

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

SINKS = ("in_a", "out_a", "in_b", "out_b")
START_TIMEOUT_S = 10.0
POLL_S = 0.05


class Pulse:
    """A private PulseAudio daemon with 48 kHz mono null sinks, reached through ``env``.

    Args:
        sinks: the null sinks; each also has its ``NAME.monitor`` source.
        alsa_pcms: ALSA device names for sinks or sources (``{"vx_in_a":
            "in_a.monitor"}``), written to an ALSA config that ``env`` points
            at, so one process can open several of them by name.

    Raises:
        RuntimeError: pulseaudio is not installed or did not start.
    """

    def __init__(self, sinks: tuple[str, ...] = SINKS, alsa_pcms: Mapping[str, str] | None = None) -> None:
        if shutil.which("pulseaudio") is None:
            raise RuntimeError(
                "pulseaudio is not installed: run ./dev test (it installs it) or apt-get install pulseaudio"
            )
        self.runtime = Path(tempfile.mkdtemp(prefix="vx-pulse-"))
        self.env = {
            **os.environ,
            "XDG_RUNTIME_DIR": str(self.runtime),
            "HOME": str(self.runtime),
            "PULSE_RUNTIME_PATH": str(self.runtime),
            "PULSE_SERVER": f"unix:{self.runtime}/native",
        }
        if alsa_pcms:
            conf = self.runtime / "asound.conf"
            pcms = "".join(
                f'pcm.{name} {{ type pulse; device "{dev}" }}\n' for name, dev in alsa_pcms.items()
            )
            conf.write_text(f"</usr/share/alsa/alsa.conf>\n{pcms}")
            self.env["ALSA_CONFIG_PATH"] = str(conf)
        loads = [f"--load=module-null-sink sink_name={name} rate=48000 channels=1" for name in sinks]
        cmd = ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--system=false", "--disallow-exit"]
        cmd += [
            "-n",
            "--load=module-native-protocol-unix",
            *loads,
            "--log-target=stderr",
            "--log-level=error",
        ]
        self.proc = subprocess.Popen(cmd, env=self.env, stderr=subprocess.DEVNULL)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode != 0:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("PulseAudio did not start")
            time.sleep(POLL_S)

    def stop(self) -> None:
        """Kill the daemon (it keeps nothing worth a clean exit) and remove its files; idempotent."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.runtime, ignore_errors=True)

    def __enter__(self) -> "Pulse":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
