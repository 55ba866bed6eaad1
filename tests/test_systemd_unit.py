"""packaging/linux/voxroom-server.service: valid for systemd, hardened, and the server runs under its limits.

``systemd-analyze verify`` and ``security --offline`` read unit files without
a running systemd, so they work in a container. verify needs the ExecStart
binary to exist, so a copy of the unit points at this venv's voxroom-server.
"""

import ctypes
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .support.server import PYTHON_SERVER, child_server
from .wsclient import Client

LINUX = Path(__file__).resolve().parents[1] / "packaging" / "linux"
UNIT = LINUX / "voxroom-server.service"
DROP_INS = LINUX / "voxroom-server.service.d"
INSTALLED_BINARY = "/opt/voxroom-venv/bin/voxroom-server"
EXPOSURE_CEILING = 1.5
"""``systemd-analyze security`` gives 0 (locked down) to 10; 1.1 measured (1.4 with both drop-ins), OK."""
PR_SET_MDWE, PR_GET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 66, 1  # linux/prctl.h, Linux 6.3


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze is missing: apt-get install systemd (./dev test does)"
    return subprocess.run([analyze, *args], capture_output=True, text=True, timeout=60, check=False)


def _unit_copy(folder: Path, *drop_ins: str) -> Path:
    """The unit (and the named drop-ins beside it, where systemd looks) with this venv's binary."""
    binary = Path(sys.executable).parent / "voxroom-server"
    assert binary.exists()
    copy = folder / UNIT.name
    copy.write_text(UNIT.read_text().replace(INSTALLED_BINARY, str(binary)))
    (folder / DROP_INS.name).mkdir()
    for name in drop_ins:
        shutil.copy(DROP_INS / name, folder / DROP_INS.name / name)
    return copy


def _settings(text: str) -> set[str]:
    return {line for line in text.splitlines() if line and line[0].isalpha() and "=" in line}


def test_the_unit_runs_the_installed_server_on_its_config_and_state_directory() -> None:
    settings = _settings(UNIT.read_text())
    assert (
        f"ExecStart={INSTALLED_BINARY} --config /etc/voxroom/voxroom-server.toml --data-dir %S/voxroom"
        in settings
    )
    assert {"DynamicUser=yes", "StateDirectory=voxroom", "StateDirectoryMode=0700", "UMask=0077"} <= settings
    assert {"CapabilityBoundingSet=", "AmbientCapabilities=", "MemoryDenyWriteExecute=yes"} <= settings
    assert "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" in settings
    assert "ProcSubset=pid" not in settings  # it hides /proc/stat, and with it the process metrics


@pytest.mark.parametrize("drop_ins", [(), ("secrets.conf", "port-443.conf")])
def test_systemd_analyze_verify_finds_nothing(tmp_path: Path, drop_ins: tuple[str, ...]) -> None:
    assert sorted(p.name for p in DROP_INS.iterdir()) == ["port-443.conf", "secrets.conf"]
    result = _analyze("verify", str(_unit_copy(tmp_path, *drop_ins)))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")  # a bad line only warns


@pytest.mark.parametrize("drop_ins", [(), ("secrets.conf", "port-443.conf")])
def test_its_exposure_stays_low(tmp_path: Path, drop_ins: tuple[str, ...]) -> None:
    result = _analyze("security", "--offline=yes", str(_unit_copy(tmp_path, *drop_ins)))
    assert result.returncode == 0, result.stderr
    score = re.search(r"Overall exposure level for voxroom-server\.service: ([\d.]+)", result.stdout)
    assert score is not None, result.stdout
    assert float(score.group(1)) <= EXPOSURE_CEILING, result.stdout


def _refuse_exec_gain() -> tuple[str, ...]:
    """A prefix that runs a command with no writable-and-executable memory, as the unit does."""
    if ctypes.CDLL(None).prctl(PR_GET_MDWE, 0, 0, 0, 0) < 0:
        pytest.skip("the kernel has no PR_SET_MDWE (Linux 6.3)")
    code = (
        "import ctypes, os, sys;"
        f"assert ctypes.CDLL(None).prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0) == 0;"
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    return (sys.executable, "-c", code)


async def test_the_server_needs_no_writable_executable_memory() -> None:
    """MemoryDenyWriteExecute=yes: the kernel's own switch for it, then a join and a chat."""
    with child_server(command=(*_refuse_exec_gain(), *PYTHON_SERVER)) as server:
        client = await Client.open(server.url)
        try:
            await client.join(room="mdwe", username="x")
            await client.send({"type": "chat", "text": "still here"})
            assert (await client.expect("chat"))["text"] == "still here"
        finally:
            await client.close()
