"""The one shape of the servers the tests start: a Debian program, a generated config, a PID.

FIELD-NOTES, "Servers the tests start": the packages' own services do not
start on these machines, and a test wants its own ports and logs anyway. So
each launcher writes a config into a temporary folder, runs the program in
the foreground as a child (its stdout and stderr in a file there, never a
pipe nobody reads), waits until it is ready by its own measure, and stops it
by its PID in every outcome. Subclasses say how to run it and when it is
ready; this says everything else once.
"""

import shutil
import signal
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.05


def require(program: str, package: str) -> None:
    """Raise, naming the Debian package, when ``program`` is not installed."""
    if shutil.which(program) is None:
        raise RuntimeError(
            f"{program} is not installed: run ./dev test (it installs it) or apt-get install {package}"
        )


class Daemon(ABC):
    """A foreground server process with its files in ``tmp`` (the caller removes the folder).

    Subclasses implement ``command`` and ``ready``, and may list more log
    files in ``logs``; ``name`` labels errors and the output file.
    """

    name: ClassVar[str]
    noise: ClassVar[frozenset[str]] = frozenset({""})
    """Log lines ``log_tail`` leaves out (stripped)."""

    def __init__(self, tmp: Path, *, pid_path: Path | None = None) -> None:
        self.tmp = tmp
        self.output_path = tmp / f"{self.name}.out"
        self.pid_path = pid_path
        """A pid file the program writes: a killed process leaves it behind, so ``stop`` removes it."""
        self.proc: subprocess.Popen[bytes] | None = None

    def write_config(self, filename: str, lines: Sequence[str]) -> Path:
        """Write the generated config into ``tmp``, one setting a line; its path."""
        path = self.tmp / filename
        path.write_text("\n".join(lines) + "\n")
        return path

    @abstractmethod
    def command(self) -> Sequence[str]:
        """The command line that runs it in the foreground with its config."""

    @abstractmethod
    def ready(self) -> bool:
        """Whether it serves yet; polled every ``POLL_S`` while it starts."""

    def logs(self) -> Sequence[Path]:
        """Where it writes, oldest first: its stdout and stderr, then any log file of its own."""
        return (self.output_path,)

    def prepare(self) -> None:
        """Before each start: e.g. clear a log that ``ready`` reads, so an old line cannot count."""
        return None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Start it and return once ``ready``; stopped and raised with its log if it is not in time."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.prepare()
        with self.output_path.open("ab") as out:
            self.proc = subprocess.Popen(
                list(self.command()), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            self._wait_ready(timeout_s)
        except BaseException:
            self.kill()
            raise

    def _wait_ready(self, timeout_s: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.ready():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            time.sleep(POLL_S)
        raise RuntimeError(f"{self.name} was not ready in {timeout_s:g} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM, SIGKILL if it lingers, and wait; idempotent."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL now: a server that dies mid-call."""
        self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.pid_path is not None:
            self.pid_path.unlink(missing_ok=True)

    def restart(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Stop it if it runs and start it again with the same config (so the same ports)."""
        self.stop()
        self.start(timeout_s)

    def log_tail(self, lines: int = 40) -> str:
        """The end of what it wrote, its output first (where it complains before its log opens)."""
        text = "".join(path.read_text(errors="replace") for path in self.logs() if path.exists())
        kept = [line for line in text.splitlines() if line.strip() not in self.noise]
        return "\n".join(kept[-lines:])

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
