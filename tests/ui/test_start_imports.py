"""The app starts without the call stack or the desktop's links: the login window imports none of it.

numpy, PyAV, aiortc, livekit, sounddevice and websockets were half of the
start-up time (docs/benchmarks.md, the desktop app's start). The app loads
them on a thread once its window is painted; importing ``client_desktop.app``
must not. python-xlib and jeepney (global push-to-talk, desktop
notifications) wait for the window too, or for the key's first watch. Each
check runs in a fresh interpreter, where nothing else has imported them yet.
"""

import subprocess
import sys

CALL_STACK = {"numpy", "av", "aiortc", "aioice", "livekit", "sounddevice", "websockets", "signaling_server"}
DESKTOP_LINKS = {"Xlib", "jeepney"}


def loaded_after(statements: str) -> set[str]:
    probe = f"import sys; {statements}; print(*{{m.split('.')[0] for m in sys.modules}})"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split()) & (CALL_STACK | DESKTOP_LINKS)


def test_importing_the_app_loads_no_part_of_the_call_stack_nor_the_desktop_links() -> None:
    assert loaded_after("import client_desktop.app") == set()


def test_the_engine_loader_loads_what_a_call_needs() -> None:
    loaded = loaded_after("import client_desktop.app as app; app._load_engine()")
    assert {"numpy", "av", "aiortc", "livekit", "websockets"} <= loaded
