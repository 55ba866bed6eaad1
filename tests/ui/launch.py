"""The environment an app launched by a test gets: its own settings and its own runtime folder.

A desktop session always has ``$XDG_RUNTIME_DIR``; without one, libpulse (PortAudio's ALSA
plugin, reached when the app loads its call stack) makes a ``/tmp/pulse-*`` folder that outlives
the test. The single-instance socket lives there too, so launches stay apart.
"""

import os
from pathlib import Path


def app_env(tmp_path: Path) -> dict[str, str]:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_RUNTIME_DIR": str(runtime),
    }
