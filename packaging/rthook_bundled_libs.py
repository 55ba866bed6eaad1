"""Runtime hook of the ``voxroom`` bundle on Linux: native libraries come from the right place.

1. ``ctypes.util.find_library`` looks in the bundle first. sounddevice
   (``portaudio``) finds its library with it, and on Linux it only asks
   ``ldconfig``, so on a machine without ``libportaudio2`` the bundled copy
   would be ignored. (PyInstaller patches this on Windows and macOS, not on
   Linux.) Our Opus binding needs none of this: it opens PyAV's libopus by path.
2. JACK: the bundled PortAudio is linked against ``libjack.so.0``. The
   machine's own is loaded when it has one (a JACK client must match its JACK
   server); otherwise a stub whose ``jack_client_open`` fails, so PortAudio
   leaves JACK out and uses ALSA. Once a library with that soname is loaded,
   the dynamic linker uses it for PortAudio's dependency.

ALSA (``libasound.so.2``) is never bundled: every desktop Linux has it, and
the build host's copy would not read the target's configuration.
"""

import ctypes
import ctypes.util
import glob
import os
import sys


def _find_bundled_first(bundle: str) -> None:
    system_find = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        for pattern in (f"lib{name}.so", f"lib{name}.so.[0-9]*"):
            found = sorted(glob.glob(os.path.join(glob.escape(bundle), pattern)))
            if found:
                return found[0]
        return system_find(name)

    ctypes.util.find_library = find_library


def _load_jack(bundle: str) -> None:
    try:
        ctypes.CDLL("libjack.so.0", mode=ctypes.RTLD_GLOBAL)
    except OSError:
        stub = os.path.join(bundle, "voxroom-stubs", "libjack.so.0")
        if os.path.isfile(stub):
            ctypes.CDLL(stub, mode=ctypes.RTLD_GLOBAL)


def _install() -> None:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle and sys.platform.startswith("linux"):
        _find_bundled_first(bundle)
        _load_jack(bundle)


_install()
