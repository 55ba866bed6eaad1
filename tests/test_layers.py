"""The arrows point one way: protocol <- signaling_server, protocol <- engine <- ui."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"protocol", "signaling_server", "client_desktop"}
ALLOWED = {
    "protocol": set(),
    "signaling_server": {"protocol"},
    "client_desktop": {"protocol", "signaling_server"},
}


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return {module.split(".")[0] for module in modules}


def _our_imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        found |= _imported_modules(path) & OURS
    return found - {package}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_its_layer_allows(package: str) -> None:
    assert _our_imports(package) <= ALLOWED[package]


@pytest.mark.parametrize("name", ["hub.py", "model.py", "effects.py", "ratelimit.py"])
def test_the_rooms_core_knows_no_transport(name: str) -> None:
    io_modules = {"websockets", "sqlite3", "asyncio", "socket", "threading"}
    assert not _imported_modules(ROOT / "signaling_server" / name) & io_modules


def test_the_engine_knows_no_qt_and_one_module_owns_the_sound_card() -> None:
    engine = ROOT / "client_desktop" / "engine"
    for path in engine.glob("*.py"):
        imported = _imported_modules(path)
        assert not imported & {"PySide6", "qasync"}, path.name
        if path.name != "devices.py":
            assert "sounddevice" not in imported, path.name


def test_only_the_app_hosts_a_server() -> None:
    users = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "client_desktop").rglob("*.py")
        if "signaling_server" in _imported_modules(path)
    }
    assert users == {"client_desktop/app.py"}


def test_the_ui_talks_to_no_network_or_sound_library() -> None:
    for path in (ROOT / "client_desktop" / "ui").glob("*.py"):
        imported = _imported_modules(path)
        assert not imported & {"aiortc", "av", "sounddevice", "websockets", "signaling_server"}, path.name
