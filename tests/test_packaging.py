"""The installers: packaging/build.sh, then the frozen programs as a user would run them.

Building takes minutes, so this runs only with ``VOXROOM_BUILD_BUNDLES`` set (CI sets 1: the build in
Debian 11 by packaging/compat.sh, what people download; tests/test_compat.py runs it there).
It unpacks the two archives (not dist/'s folders: the archives are what people download) and
checks that the frozen server serves a real call between two voxroom-bots, that the frozen app's
self-test passes, and that the app still works with the machine's Python, PortAudio, Opus and
JACK hidden (a mount namespace; root only), i.e. it uses what it carries.
"""

import functools
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tarfile
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from client_desktop.engine.media import read_wav

from .engine.audio import peaks_hz
from .support.coturn import Coturn
from .support.server import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT_S = 1800
"""A compat build from nothing: Debian 11 root, CPython, wheels, PyInstaller (CI prepares early)."""

BUILD = os.environ.get("VOXROOM_BUILD_BUNDLES")
"""``1``: build in Debian 11 (packaging/compat.sh; root), then test; ``host``: build on this machine
(packaging/build.sh, this glibc); ``reuse``: test what dist/ holds (while working on the tests only)."""
BUILDS = {"1", "host", "reuse"}
SKIP_REASON = "builds the installers (minutes): set VOXROOM_BUILD_BUNDLES=1 (or host) to run"

pytestmark = [
    pytest.mark.skipif(BUILD not in BUILDS, reason=SKIP_REASON),
    pytest.mark.timeout(BUILD_TIMEOUT_S + 120),
]


def _version() -> str:
    match = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert match
    return match.group(1)


def build_all() -> None:
    """The build, once per session however many modules ask (tests/test_deb.py, test_compat.py too)."""
    if BUILD == "reuse":
        return
    build = _run_build_sh()
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]


@functools.cache
def _run_build_sh() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "packaging" / ("build.sh" if BUILD == "host" else "compat.sh"))],
        cwd=ROOT,
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Build both bundles once; return the unpacked folders by program name."""
    build_all()
    unpacked = tmp_path_factory.mktemp("unpacked")
    found: dict[str, Path] = {}
    for name in ("voxroom", "voxroom-server"):
        archive = ROOT / "dist" / f"{name}-{_version()}-linux-x86_64.tar.gz"
        assert archive.is_file(), archive
        with tarfile.open(archive) as tar:
            assert {m.name.split("/")[0] for m in tar.getmembers()} == {name}
            tar.extractall(unpacked, filter="tar")
        assert (unpacked / name / name).is_file()
        found[name] = unpacked / name
    return found


@pytest.fixture
def frozen_server(bundles: dict[str, Path], tmp_path: Path) -> Iterator[str]:
    server = ServerProcess(tmp_path, command=[str(bundles["voxroom-server"] / "voxroom-server")])
    server.start()
    try:
        assert server.health()["status"] == "ok"
        yield server.url
    finally:
        log = server.kill(signal.SIGTERM)
    assert server.proc is not None
    assert server.proc.returncode == 0, log.decode(errors="replace")


def test_the_bundles_carry_portaudio_and_pyavs_opus_but_not_alsa_or_jack(bundles: dict[str, Path]) -> None:
    app = bundles["voxroom"] / "_internal"
    names = {p.name for p in app.iterdir()}
    assert "libportaudio.so.2" in names
    assert not names & {"libasound.so.2", "libjack.so.0", "libopus.so.0"}  # no system Opus: PyAV's
    assert list((app / "av.libs").glob("libopus-*.so*"))
    assert (app / "voxroom-stubs" / "libjack.so.0").is_file()
    assert (bundles["voxroom"] / "share" / "applications" / "voxroom.desktop").is_file()
    server = {p.name for p in (bundles["voxroom-server"] / "_internal").iterdir()}
    assert not server & {"PySide6", "aiortc", "av", "numpy", "livekit", "libportaudio.so.2"}


def test_frozen_server_selftest(bundles: dict[str, Path]) -> None:
    run = subprocess.run(
        [str(bundles["voxroom-server"] / "voxroom-server"), "--selftest"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("voxroom-server selftest ok: health=ok")


def test_frozen_server_checks_turn(bundles: dict[str, Path], tmp_path: Path) -> None:
    """``--check-turn`` needs aioice (its TURN client) in the server bundle."""
    with Coturn(tmp_path, secret="s3cret") as coturn:
        run = subprocess.run(
            [str(bundles["voxroom-server"] / "voxroom-server"), "--check-turn", "--turn-secret", "s3cret"]
            + [arg for url in coturn.urls for arg in ("--turn-url", url)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 0, run.stdout + run.stderr
    assert [line.split(":", 1)[0].split()[0] for line in run.stdout.splitlines()] == ["UDP", "TCP"]
    assert run.stdout.count(": works, relayed through 127.0.0.1:") == 2, run.stdout


def test_frozen_server_serves_a_call_between_two_bots(frozen_server: str, tmp_path: Path) -> None:
    def bot(name: str, hz: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "client_desktop.bot", "--server", frozen_server, "--room", "r"),
                *("--username", name, "--tone", str(hz), "--record", str(tmp_path / f"{name}.wav")),
                *("--duration", "4"),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    a, b = bot("a", 440), bot("b", 660)
    out_a, _ = a.communicate(timeout=60)
    out_b, _ = b.communicate(timeout=60)
    assert (a.returncode, b.returncode) == (0, 0), out_a + out_b
    for name, hz in (("a", 660), ("b", 440)):
        heard = read_wav(tmp_path / f"{name}.wav")
        assert len(heard) > 48_000 * 3
        assert abs(peaks_hz(heard[-48_000:])[0] - hz) <= 2


def _selftest(app: Path, prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "QT_QPA_PLATFORM": "offscreen"}
    for var in ("XDG_RUNTIME_DIR", "PULSE_SERVER", "LANG"):
        if var in os.environ:
            env[var] = os.environ[var]
    return subprocess.run(
        [*(prefix or []), str(app / "voxroom"), "--selftest"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_frozen_app_selftest(bundles: dict[str, Path]) -> None:
    run = _selftest(bundles["voxroom"])
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("voxroom selftest ok: window_ms=")
    assert "frozen=yes" in run.stdout
    assert " languages=en,ru " in run.stdout  # our catalogue and Qt's own, both carried


def _hidden_paths() -> list[str]:
    """The machine's Python and the system libraries the bundle must not need."""
    paths = [sys.base_prefix, "/usr/lib/python3", f"/usr/lib/python3.{sys.version_info.minor}"]
    libdir = Path("/usr/lib/x86_64-linux-gnu")
    for lib in (
        "libportaudio.so.2",
        "libopus.so.0",
        "libjack.so.0",
        f"libpython3.{sys.version_info.minor}.so.1.0",
    ):
        if (libdir / lib).exists():
            paths.append(str((libdir / lib).resolve()))
    return [p for p in paths if Path(p).exists()]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare(1)")
def test_frozen_app_runs_without_the_machines_python_portaudio_opus_and_jack(
    bundles: dict[str, Path], tmp_path: Path
) -> None:
    mounts = []
    for path in _hidden_paths():
        if Path(path).is_dir():
            mounts.append(f"mount -t tmpfs none '{path}'")
        else:
            mounts.append(f"mount --bind /dev/null '{path}'")
    script = " && ".join([*mounts, 'exec "$@"'])
    run = _selftest(bundles["voxroom"], ["unshare", "--mount", "--", "sh", "-c", script, "sh"])
    assert run.returncode == 0, run.stdout + run.stderr
    assert "frozen=yes" in run.stdout


# --- certificates: the system's store, the bundled set only without one --------------------------

TURN_SECRET = "s3cret"


@pytest.fixture
def tls_turn(tmp_path: Path) -> Iterator[tuple[Coturn, trustme.CA]]:
    """coturn with TLS, its certificate from a CA that no store on this machine knows."""
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "turn-cert.pem", tmp_path / "turn-key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    with Coturn(tmp_path, secret=TURN_SECRET, cert=cert, key=key) as coturn:
        yield coturn, ca


def _debian_store_with(ca: trustme.CA, tmp_path: Path) -> list[str]:
    """Mounts for a namespace where Debian's own tool, update-ca-certificates, has added ``ca``.

    It writes into a tmpfs over /etc/ssl/certs, its hooks hidden: the machine's store stays as it is.
    """
    local, hooks = tmp_path / "local-cas", tmp_path / "no-hooks"
    local.mkdir()
    hooks.mkdir()
    ca.cert_pem.write_to_path(str(local / "voxroom-test.crt"))
    return [
        "mount -t tmpfs none /etc/ssl/certs",
        f"mount --bind '{local}' /usr/local/share/ca-certificates",
        f"mount --bind '{hooks}' /etc/ca-certificates/update.d",
        "update-ca-certificates >/dev/null",
    ]


def _other_distribution_store_with(ca: trustme.CA, tmp_path: Path) -> list[str]:
    """Mounts for a namespace laid out as Arch, Alpine or Fedora do: one /etc/ssl/cert.pem, no certs/.

    The build machine's OpenSSL looks in /etc/ssl/certs (Debian's place) and finds nothing there.
    """
    etc_ssl = tmp_path / "etc-ssl"
    etc_ssl.mkdir()
    shutil.copy("/etc/ssl/openssl.cnf", etc_ssl / "openssl.cnf")
    ca.cert_pem.write_to_path(str(etc_ssl / "cert.pem"))
    return [f"mount --bind '{etc_ssl}' /etc/ssl"]


def _no_store() -> list[str]:
    """Mounts for a namespace with no CA store anywhere truststore or OpenSSL looks."""
    from truststore import _openssl  # its list of distributions' CA files

    elsewhere = [p for p in _openssl._CA_FILE_CANDIDATES if not p.startswith("/etc/ssl/certs/")]
    hidden = [f"mount --bind /dev/null '{p}'" for p in elsewhere if Path(p).is_file()]
    return [*hidden, "mount -t tmpfs none /etc/ssl/certs"]


def _check_tls_turn(server: Path, coturn: Coturn, mounts: list[str]) -> str:
    """The frozen ``--check-turn`` on coturn's TLS URL in a private mount namespace; its one line."""
    url = next(u for u in coturn.urls if u.startswith("turns:"))
    script = " && ".join([*mounts, 'exec "$@"'])
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": os.environ.get("HOME", "/root")}  # no SSL_CERT_*
    check = [str(server / "voxroom-server"), "--check-turn", "--turn-secret", TURN_SECRET, "--turn-url", url]
    run = subprocess.run(
        ["unshare", "--mount", "--", "sh", "-c", script, "sh", *check],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert run.stdout.startswith("TLS "), run.stdout + run.stderr
    return run.stdout.strip()


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare(1)"
)


@needs_root
@pytest.mark.parametrize("store", [_debian_store_with, _other_distribution_store_with])
def test_the_frozen_server_trusts_a_ca_once_the_system_does(
    bundles: dict[str, Path],
    tls_turn: tuple[Coturn, trustme.CA],
    tmp_path: Path,
    store: Callable[[trustme.CA, Path], list[str]],
) -> None:
    coturn, ca = tls_turn
    server = bundles["voxroom-server"]
    assert ": works, relayed through 127.0.0.1:" in _check_tls_turn(server, coturn, store(ca, tmp_path))
    assert "is not trusted: unable to get local issuer certificate" in _check_tls_turn(server, coturn, [])


@needs_root
def test_the_bundled_cas_stand_in_only_where_the_system_has_none(
    bundles: dict[str, Path], tls_turn: tuple[Coturn, trustme.CA], tmp_path: Path
) -> None:
    """A copy of the server whose bundled set (certifi's) holds the test CA too: used without a store only."""
    coturn, ca = tls_turn
    server = tmp_path / "voxroom-server"
    shutil.copytree(bundles["voxroom-server"], server, symlinks=True)
    bundled = server / "_internal" / "certifi" / "cacert.pem"
    assert bundled.stat().st_size > 100_000  # Mozilla's set
    bundled.write_bytes(bundled.read_bytes() + ca.cert_pem.bytes())
    assert ": works, relayed through" in _check_tls_turn(server, coturn, _no_store())
    assert "is not trusted" in _check_tls_turn(server, coturn, [])


def test_the_frozen_server_still_serves_tls(bundles: dict[str, Path], tmp_path: Path) -> None:
    """Its own listener, though truststore has replaced ``ssl.SSLContext`` in the bundle."""
    ca = trustme.CA()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf = ca.issue_cert("127.0.0.1")
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    command = [str(bundles["voxroom-server"] / "voxroom-server")]
    server = ServerProcess(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key), command=command)
    server.start()
    try:
        assert server.url.startswith("wss://127.0.0.1:")
        client = ssl.create_default_context()
        ca.configure_trust(client)
        health = f"https://127.0.0.1:{server.port}/health"
        with urllib.request.urlopen(health, context=client, timeout=10) as response:
            assert json.load(response)["status"] == "ok"
    finally:
        server.kill(signal.SIGTERM)
