"""Which libopus the binding loads: PyAV's, so that no system package is needed."""

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import pytest

from client_desktop.engine.opus import find_opus, load_library, pyav_library

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_LIBDIR = Path("/usr/lib/x86_64-linux-gnu")


def test_pyav_ships_the_library_we_load() -> None:
    found = pyav_library()
    assert found is not None
    assert Path(found).parent == Path(av.__file__).parent.parent / "av.libs"
    assert find_opus("opus") == found
    lib = load_library()
    lib.opus_get_version_string.restype = ctypes.c_char_p
    assert lib.opus_get_version_string().startswith(b"libopus 1.")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare(1)")
def test_the_round_trip_passes_with_the_system_libopus_hidden() -> None:
    """tests/engine/test_opus.py in a mount namespace where the system's libopus is /dev/null."""
    hidden = sorted({str(p.resolve()) for p in SYSTEM_LIBDIR.glob("libopus.so*")})
    mounts = [f"mount --bind /dev/null '{path}'" for path in hidden]
    unloadable = '! "$0" -c "import ctypes; ctypes.CDLL(\'libopus.so.0\')" 2>/dev/null'
    script = " && ".join([*mounts, unloadable, 'exec "$0" "$@"'])
    pytest_opus = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/engine/test_opus.py"]
    run = subprocess.run(
        ["unshare", "--mount", "--", "sh", "-c", script, sys.executable, *pytest_opus],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert " passed" in run.stdout
    assert "failed" not in run.stdout
