"""The .deb packages: installed, run, upgraded, removed and purged with dpkg as an operator would.

Gated like tests/test_packaging.py (``VOXROOM_BUILD_BUNDLES``), whose build it shares. dpkg runs
in a chroot whose root is this machine's own, copy-on-write: an overlay with ``/`` below and a
tmpfs above, mounted in a private mount namespace. Packages see the real dpkg database (so
``Depends`` resolve) and write only to the tmpfs, which vanishes with the namespace in every
outcome; the tmpfs is also the exact list of what the packages changed. Root only.
"""

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support.server import ServerProcess
from .test_packaging import BUILD, BUILD_TIMEOUT_S, BUILDS, SKIP_REASON, _version, build_all
from .wsclient import Client

ROOT = Path(__file__).resolve().parent.parent
SERVER_FILES = [
    "/opt/voxroom-server/voxroom-server",
    "/usr/bin/voxroom-server",
    "/lib/systemd/system/voxroom-server.service",
    "/etc/voxroom/voxroom-server.toml",
    "/usr/share/doc/voxroom-server/copyright",
]
DPKG_OWN = ("var/lib/dpkg/", "var/log/dpkg.log")
"""What dpkg itself keeps after a purge: its database and its log."""
MAN_DB_CACHE = ("var/cache/man/",)
"""Rewritten by man-db's dpkg trigger for the packages' manual pages, when man-db is installed."""

pytestmark = [
    pytest.mark.skipif(BUILD not in BUILDS, reason=SKIP_REASON),
    pytest.mark.skipif(
        os.geteuid() != 0 or not all(map(shutil.which, ("unshare", "nsenter", "dpkg-deb"))),
        reason="needs root, unshare, nsenter and dpkg-deb",
    ),
    pytest.mark.timeout(BUILD_TIMEOUT_S + 240),
]


class ScratchRoot:
    """A root (this machine's unless ``lower`` is given), copy-on-write, in a private mount namespace
    kept open by a sleeper.

    ``run`` executes a command chrooted there; ``changes`` lists the files written. ``close``
    ends the sleeper, and with it the namespace, its mounts and everything written.
    """

    def __init__(self, mountpoint: Path, debs: Path, lower: Path = Path("/")) -> None:
        top, self.root = mountpoint, mountpoint / "root"
        layers = f"lowerdir='{lower}',upperdir='{top}/upper',workdir='{top}/work'"
        script = " && ".join(
            [
                f"mount -t tmpfs none '{top}'",
                f"mkdir '{top}/upper' '{top}/work' '{self.root}'",
                f"mount -t overlay overlay -o {layers} '{self.root}'",
                *(f"mount --bind /{d} '{self.root}/{d}'" for d in ("proc", "dev", "sys")),
                f"mount --bind -o ro '{debs}' '{self.root}/mnt'",
                "echo ready",
                "exec sleep infinity",
            ]
        )
        self.upper = top / "upper"
        self.sleeper = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.sleeper.stdout is not None
        if self.sleeper.stdout.readline().strip() != "ready":
            self.close()
            raise AssertionError(f"no scratch root: {self.sleeper.stderr and self.sleeper.stderr.read()}")

    def prefix(self) -> list[str]:
        """The command prefix that enters the namespace and the chroot."""
        return ["nsenter", f"--target={self.sleeper.pid}", "--mount", "--", "chroot", str(self.root)]

    def run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}
        env["DEBIAN_FRONTEND"] = "noninteractive"
        done = subprocess.run(
            [*self.prefix(), *command], capture_output=True, text=True, timeout=180, env=env
        )
        if check:
            assert done.returncode == 0, f"{command}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        return done

    def exists(self, path: str) -> bool:
        return self.run("test", "-e", path, check=False).returncode == 0

    def changes(self) -> list[str]:
        """Files (not directories) written in the scratch root, relative to it."""
        find = ["nsenter", f"--target={self.sleeper.pid}", "--mount", "--", "find", str(self.upper)]
        out = subprocess.run([*find, "-not", "-type", "d"], capture_output=True, text=True, check=True)
        return sorted(str(Path(line).relative_to(self.upper)) for line in out.stdout.splitlines())

    def close(self) -> None:
        self.sleeper.kill()
        self.sleeper.communicate(timeout=10)


PACKAGES = ("voxroom-server", "voxroom")
LINTIAN = shutil.which("lintian")


@pytest.fixture(scope="module")
def lintian_runs() -> Iterator[dict[str, "subprocess.Popen[str]"]]:
    """lintian reading each built package, started at once: a minute on the app's, spent beside the
    install tests instead of after them (the tests of this module ask for it through ``debs``)."""
    build_all()
    lint = LINTIAN
    runs = {
        name: subprocess.Popen(
            [lint, "--fail-on", "none", str(ROOT / "dist" / f"{name}_{_version()}_amd64.deb")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in PACKAGES
        if lint is not None
    }
    yield runs
    for run in runs.values():
        run.kill()
        run.communicate()


@pytest.fixture(scope="module")
def debs(tmp_path_factory: pytest.TempPathFactory, lintian_runs: object) -> Path:
    """The built packages, and the server's again with a higher version (for the upgrade)."""
    build_all()
    folder = tmp_path_factory.mktemp("debs")
    for name in PACKAGES:
        shutil.copy(ROOT / "dist" / f"{name}_{_version()}_amd64.deb", folder)
    make = [sys.executable, str(ROOT / "packaging" / "deb.py"), "server", "--out", str(folder)]
    subprocess.run([*make, "--version", f"{_version()}+1"], check=True, capture_output=True, timeout=300)
    return folder


@pytest.fixture
def scratch(debs: Path, tmp_path: Path) -> Iterator[ScratchRoot]:
    (tmp_path / "scratch").mkdir()
    root = ScratchRoot(tmp_path / "scratch", debs)
    try:
        yield root
    finally:
        root.close()


def _installed_server(scratch: ScratchRoot, tmp_path: Path) -> ServerProcess:
    """The installed server as the unit runs it (its config, its state directory), on a free port.

    ServerProcess gives ``--host 127.0.0.1 --port P --data-dir X``; the later ``--data-dir``, the
    unit's, wins.
    """
    command = [*scratch.prefix(), "/usr/bin/voxroom-server", "--config", "/etc/voxroom/voxroom-server.toml"]
    return ServerProcess(tmp_path, "--data-dir", "/var/lib/voxroom", command=command)


async def _chat(url: str, username: str, text: str | None = None) -> list[str]:
    """Join room ``deb``, say ``text`` if given; the history the server sent on joining."""
    client = await Client.open(url)
    try:
        joined = await client.join(room="deb", username=username)
        if text is not None:
            await client.send({"type": "chat", "text": text})
            await client.expect("chat")
        return [entry["text"] for entry in joined.get("history", [])]
    finally:
        await client.close()


async def test_the_server_package_installs_runs_upgrades_and_purges_cleanly(
    scratch: ScratchRoot, tmp_path: Path
) -> None:
    version = _version()
    scratch.run("dpkg", "-i", f"/mnt/voxroom-server_{version}_amd64.deb")
    assert all(map(scratch.exists, SERVER_FILES))
    assert not scratch.exists("/etc/systemd/system/multi-user.target.wants/voxroom-server.service")
    assert scratch.run("dpkg-query", "-W", "-f=${Conffiles}", "voxroom-server").stdout.split()[0] == (
        "/etc/voxroom/voxroom-server.toml"
    )

    server = _installed_server(scratch, tmp_path)
    server.start()
    try:
        assert server.health()["status"] == "ok"
        await _chat(server.url, "before", "kept across the upgrade")
    finally:
        server.kill(signal.SIGTERM)
    scratch.run("sh", "-c", "echo 'max-room-size = 7  # the operator' >> /etc/voxroom/voxroom-server.toml")

    scratch.run("dpkg", "-i", f"/mnt/voxroom-server_{version}+1_amd64.deb")
    assert scratch.run("dpkg-query", "-W", "-f=${Version}", "voxroom-server").stdout == f"{version}+1"
    assert "the operator" in scratch.run("cat", "/etc/voxroom/voxroom-server.toml").stdout
    server.start()
    try:
        assert await _chat(server.url, "after") == ["kept across the upgrade"]
    finally:
        server.kill(signal.SIGTERM)

    scratch.run("dpkg", "-r", "voxroom-server")
    assert not scratch.exists("/opt/voxroom-server")
    assert not scratch.exists("/usr/bin/voxroom-server")
    assert scratch.exists("/etc/voxroom/voxroom-server.toml")  # removed, not purged: config and data stay
    assert scratch.exists("/var/lib/voxroom/voxroom.sqlite3")

    scratch.run("dpkg", "-P", "voxroom-server")
    assert [path for path in scratch.changes() if not path.startswith(DPKG_OWN + MAN_DB_CACHE)] == []


APP_FILES = [
    "/opt/voxroom/voxroom",
    "/usr/bin/voxroom",
    "/usr/share/applications/voxroom.desktop",
    "/usr/share/metainfo/org.voxroom.Voxroom.metainfo.xml",
    "/usr/share/icons/hicolor/scalable/apps/voxroom.svg",
    *(f"/usr/share/icons/hicolor/{n}x{n}/apps/voxroom.png" for n in (16, 24, 32, 48, 64, 128, 256)),
]
TRIGGERED_CACHES = ("usr/share/icons/hicolor/icon-theme.cache", "usr/share/applications/mimeinfo.cache")
"""Rewritten by the icon theme's and desktop-file-utils' dpkg triggers, when installed."""


def test_the_app_package_installs_passes_its_selftest_and_removes_cleanly(scratch: ScratchRoot) -> None:
    scratch.run("dpkg", "-i", f"/mnt/voxroom_{_version()}_amd64.deb")
    assert all(map(scratch.exists, APP_FILES))
    desktop = scratch.run("cat", "/usr/share/applications/voxroom.desktop").stdout
    assert {"Exec=voxroom %u", "Icon=voxroom", "MimeType=x-scheme-handler/voxroom;"} <= set(
        desktop.splitlines()
    )
    if shutil.which("appstreamcli"):
        metainfo = "/usr/share/metainfo/org.voxroom.Voxroom.metainfo.xml"
        scratch.run("appstreamcli", "validate", "--no-net", metainfo)
    selftest = scratch.run("env", "QT_QPA_PLATFORM=offscreen", "voxroom", "--selftest", check=False)
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
    assert selftest.stdout.startswith("voxroom selftest ok: window_ms=")
    scratch.run("dpkg", "-r", "voxroom")
    assert not scratch.exists("/opt/voxroom")
    left = [
        p
        for p in scratch.changes()
        if not p.startswith(DPKG_OWN + MAN_DB_CACHE) and p not in TRIGGERED_CACHES
    ]
    assert left == []


@pytest.mark.skipif(LINTIAN is None, reason="lintian is missing: apt-get install lintian")
@pytest.mark.parametrize("name", PACKAGES)
def test_lintian_finds_nothing_that_matters(
    lintian_runs: dict[str, "subprocess.Popen[str]"], name: str
) -> None:
    """Errors and warnings fail (the manual pages included: packaging/deb.py makes them from ``--help``)."""
    out, _ = lintian_runs[name].communicate(timeout=600)
    assert lintian_runs[name].returncode == 0, out  # 2: lintian could not read the package at all
    tags = [line for line in out.splitlines() if line[:2] in {"E:", "W:"}]
    assert tags == [], out
