"""The server runs on glibc 2.31: no ELF in its bundle asks for a newer glibc, and its .deb installs
and runs in Debian 11 (packaging/compat.sh builds it there and keeps that system in
build/compat/runtime). The app is built on this machine: its wheels need glibc 2.34 (README).

Gated like tests/test_packaging.py, whose build (``VOXROOM_BUILD_BUNDLES=1``: the compat build)
they share; the Debian 11 run needs root, as the build does.
"""

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support.server import ServerProcess
from .test_deb import ScratchRoot, _chat
from .test_packaging import BUILD, BUILD_TIMEOUT_S, BUILDS, SKIP_REASON, _version, build_all, bundles

__all__ = ["bundles"]  # a fixture, imported to be shared

ROOT = Path(__file__).resolve().parent.parent
DEBIAN_11 = ROOT / "build" / "compat" / "runtime"
OLDEST_GLIBC = (2, 31)

pytestmark = [
    pytest.mark.skipif(BUILD not in BUILDS, reason=SKIP_REASON),
    pytest.mark.timeout(BUILD_TIMEOUT_S + 240),
]


def glibc_versions_needed(elf: Path) -> set[tuple[int, int]]:
    """The GLIBC_x.y versions ``elf`` needs (its version-needs section), as (x, y)."""
    out = subprocess.run(["readelf", "-V", "-W", str(elf)], capture_output=True, text=True, check=True).stdout
    needs = out.partition(".gnu.version_r")[2]
    return {(int(x), int(y)) for x, y in re.findall(r"Name: GLIBC_(\d+)\.(\d+)", needs)}


def _elves(folder: Path) -> Iterator[Path]:
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as f:
                if f.read(4) == b"\x7fELF":
                    yield path


@pytest.mark.skipif(BUILD == "host", reason="a build on this machine needs this machine's glibc")
def test_no_elf_in_the_server_bundle_needs_a_glibc_newer_than_2_31(bundles: dict[str, Path]) -> None:
    checked, newer = 0, {}
    for elf in _elves(bundles["voxroom-server"]):
        checked += 1
        too_new = {v for v in glibc_versions_needed(elf) if v > OLDEST_GLIBC}
        if too_new:
            newer[str(elf.relative_to(bundles["voxroom-server"]))] = sorted(too_new)
    assert checked > 40  # the program, libpython, the extension modules and their libraries
    assert newer == {}


@pytest.fixture
def debian_11(tmp_path: Path) -> Iterator[ScratchRoot]:
    """build/compat/runtime, copy-on-write: a Debian 11 with what the packages depend on; /mnt: dist/."""
    build_all()
    if os.geteuid() != 0 or not (DEBIAN_11 / "etc" / "debian_version").is_file():
        pytest.skip("needs root and the Debian 11 root packaging/compat.sh leaves in build/compat/runtime")
    assert (DEBIAN_11 / "etc" / "debian_version").read_text().startswith("11.")
    (tmp_path / "scratch").mkdir()
    root = ScratchRoot(tmp_path / "scratch", ROOT / "dist", lower=DEBIAN_11)
    try:
        yield root
    finally:
        root.close()


async def test_the_server_package_installs_and_runs_on_debian_11(
    debian_11: ScratchRoot, tmp_path: Path
) -> None:
    """The .deb installs there (its Depends resolve in Debian 11), the server answers /health and
    keeps a chat (its SQL needs SQLite 3.35, Debian 11 has 3.34: the bundle carries a newer one),
    with Debian 11's glibc 2.31; the app's .deb is refused there (it says libc6 >= 2.36)."""
    assert "GLIBC 2.31" in debian_11.run("ldd", "--version").stdout
    version = _version()
    debian_11.run("dpkg", "-i", f"/mnt/voxroom-server_{version}_amd64.deb")
    command = [*debian_11.prefix(), "/usr/bin/voxroom-server"]
    server = ServerProcess(tmp_path, "--data-dir", "/var/lib/voxroom", command=command)
    server.start()
    try:
        assert server.health()["status"] == "ok"
        await _chat(server.url, "first", "kept in Debian 11")
        assert await _chat(server.url, "second") == ["kept in Debian 11"]
    finally:
        log = server.kill(signal.SIGTERM)
    assert server.proc is not None
    assert server.proc.returncode == 0, log.decode(errors="replace")
    app = debian_11.run("dpkg", "-i", f"/mnt/voxroom_{version}_amd64.deb", check=False)
    assert app.returncode != 0
    assert "libc6 (>= 2.36)" in app.stderr
