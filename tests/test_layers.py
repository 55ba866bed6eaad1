"""The arrows point one way: protocol <- signaling_server, protocol <- engine <- ui <- app.

Imports are read with ``ast`` and resolved to full module names, relative ones
against the importing module's package (``from ..engine import events`` in
``client_desktop.ui.bridge`` is ``client_desktop.engine.events``), so a rule
cannot be dodged by a leading dot.
"""

import ast
from collections.abc import Collection, Iterable, Mapping
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("protocol", "signaling_server", "client_desktop")
QT = ("PySide6", "qasync", "shiboken6")
NETWORK_AND_SOUND = ("aiortc", "av", "sounddevice", "websockets")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve_imports(module: str, is_package: bool, source: str, known: Collection[str]) -> set[str]:
    """Every module ``source`` imports, by full name.

    ``from X import name`` imports ``X.name`` when that is a module in ``known``,
    else ``X`` (``name`` is an attribute of it).
    """
    package = (module if is_package else module.rpartition(".")[0]).split(".")
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) + 1 - node.level] if node.level else []  # one dot: the package
            origin = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                found.add(f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin)
    return found


@cache
def import_graph() -> Mapping[str, frozenset[str]]:
    """Each of our modules and what it imports, ours and third-party."""
    paths = {module_name(path): path for top in OURS for path in (ROOT / top).rglob("*.py")}
    return {
        name: frozenset(resolve_imports(name, path.name == "__init__.py", path.read_text(), paths))
        for name, path in paths.items()
    }


def within(name: str, prefixes: Iterable[str]) -> bool:
    return any(name == prefix or name.startswith(f"{prefix}.") for prefix in prefixes)


def imports_of(importers: str, targets: Iterable[str]) -> set[str]:
    """``importer -> target`` for each module under ``importers`` importing one under ``targets``."""
    targets = tuple(targets)
    return {
        f"{module} -> {target}"
        for module, imported in import_graph().items()
        if within(module, [importers])
        for target in imported
        if within(target, targets)
    }


def find_cycle(graph: Mapping[str, Collection[str]]) -> list[str]:
    """One import cycle (``[a, b, a]``), or ``[]`` when there is none."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        path.append(node)
        for child in graph.get(node, ()):
            if cycle := visit(child):
                return cycle
        path.pop()
        done.add(node)
        return []

    for node in graph:
        if cycle := visit(node):
            return cycle
    return []


# --- the resolver itself: the rules below are only as good as it is ------------------------------


def test_relative_imports_resolve_against_the_package() -> None:
    known = {"client_desktop.engine.events", "client_desktop.ui.style", "protocol.limits"}
    source = (
        "from ..engine import events, Engine\nfrom . import style\nfrom .. import app\nimport PySide6.QtCore"
    )
    assert resolve_imports("client_desktop.ui.bridge", False, source, known) == {
        "client_desktop.engine.events",
        "client_desktop.engine",
        "client_desktop.ui.style",
        "client_desktop",
        "PySide6.QtCore",
    }
    # In a package's __init__, "." is the package itself.
    assert resolve_imports("protocol", True, "from . import limits\nfrom .codec import encode", known) == {
        "protocol.limits",
        "protocol.codec",
    }


def test_the_graph_sees_the_real_relative_imports() -> None:
    graph = import_graph()
    assert "protocol.limits" in graph["protocol.messages"]  # from . import limits
    assert "client_desktop.engine.events" in graph["client_desktop.app"]  # from .engine import events
    assert "signaling_server.hub" in graph["signaling_server.app"]  # from .hub import Hub


def test_find_cycle() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) == []
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]


# --- the rules -----------------------------------------------------------------------------------


def test_protocol_imports_nothing_of_ours() -> None:
    assert imports_of("protocol", set(OURS) - {"protocol"}) == set()


def test_the_server_imports_only_the_protocol_of_ours() -> None:
    assert imports_of("signaling_server", set(OURS) - {"signaling_server", "protocol"}) == set()


def test_the_engine_knows_no_ui_no_app_and_no_qt() -> None:
    forbidden = ["client_desktop.ui", "client_desktop.app", *QT]
    assert imports_of("client_desktop.engine", forbidden) == set()


def test_one_engine_module_owns_the_sound_card() -> None:
    assert imports_of("client_desktop.engine", ["sounddevice"]) == {
        "client_desktop.engine.devices -> sounddevice"
    }


def test_the_ui_talks_to_no_server_network_or_sound_library() -> None:
    assert imports_of("client_desktop.ui", ["signaling_server", *NETWORK_AND_SOUND]) == set()


def test_only_the_app_hosts_a_server() -> None:
    """One module of the app starts a server; the engine, the bot and the UI never import it."""
    users = {edge.partition(" -> ")[0] for edge in imports_of("client_desktop", ["signaling_server"])}
    assert users == {"client_desktop.hosting"}


@pytest.mark.parametrize("name", ["hub", "model", "effects", "ratelimit"])
def test_the_rooms_core_knows_no_transport(name: str) -> None:
    """websockets' ``frames`` is allowed: it is vocabulary (``CloseCode``), no I/O."""
    imported = import_graph()[f"signaling_server.{name}"]
    io = [module for module in imported if within(module, ["sqlite3", "asyncio", "socket", "threading"])]
    transport = [module for module in imported if within(module, ["websockets"])]
    assert io == []
    assert set(transport) <= {"websockets.frames"}


@pytest.mark.parametrize("name", ["session", "call_rules", "media_rules", "events", "problems", "errors"])
def test_the_engine_cores_do_no_io(name: str) -> None:
    """The call rules, the call path and the signaling session decide; only their shells touch aiortc,
    sockets or time."""
    imported = import_graph()[f"client_desktop.engine.{name}"]
    io = [
        m for m in imported if within(m, ["asyncio", "socket", "threading", "time", "aiortc", "aioice", "av"])
    ]
    ours = [m for m in imported if within(m, ["client_desktop"])]
    assert io == []
    assert {m for m in imported if within(m, ["websockets"])} <= {"websockets.frames"}
    assert set(ours) <= {"client_desktop.engine.events", "client_desktop.engine.problems"}


def test_no_import_cycles_among_our_modules() -> None:
    graph = import_graph()
    ours = {module: [target for target in imported if target in graph] for module, imported in graph.items()}
    assert find_cycle(ours) == []
