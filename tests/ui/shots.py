"""The README's screenshots: login, hosting, room and settings, in English and Russian, light and dark.

    QT_QPA_PLATFORM=offscreen python -m tests.ui.shots docs/screenshots

Run in a process of its own (``test_screenshots`` does): it sets the
application's style, palette and language, which widget tests must not
inherit. The real widgets and bridge over the fake engine, so a room has
people, a call and a chat without a server. Exits non-zero when a button,
label or field is narrower than its text needs (Russian runs longer).
"""

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLabel,
    QSizePolicy,
    QWidget,
)

from client_desktop.engine.call_stats import CandidateType, TransportProtocol
from client_desktop.hosting import HostScope
from client_desktop.ui import i18n, style
from client_desktop.ui.bridge import JoinRequest
from client_desktop.ui.i18n import build
from client_desktop.ui.window import MainWindow

from .conftest import Harness
from .fakes import call, peer

SIZE = (960, 620)
LOGIN_SIZE = (720, 640)
ADDRESSES = ["192.168.1.20"]
CHATS = {
    "en": [
        ("bob", "Evening! Is everyone hearing me fine?"),
        ("alice", "Loud and clear. **Raid** starts at 9, right?"),
        ("carol", "Yes, I'll be a few minutes late 🙂 see https://example.org/plan"),
        ("bob", "No rush, we'll wait in the lobby."),
    ],
    "ru": [
        ("Борис", "Всем привет! Меня хорошо слышно?"),
        ("alice", "Слышно отлично. **Рейд** в девять, да?"),
        ("Вера", "Да, я опоздаю на пару минут 🙂 план тут: https://example.org/plan"),  # noqa: RUF001
        ("Борис", "Не спеши, подождём в лобби."),  # noqa: RUF001
    ],
}


def clipped(top: QWidget) -> list[str]:
    """Controls and one-line labels narrower than their text (those meant to elide are skipped)."""
    found = []
    for widget in top.findChildren(QWidget):
        if not widget.isVisibleTo(top) or not isinstance(widget, (QAbstractButton, QLabel, QComboBox)):
            continue
        if isinstance(widget, QLabel) and (
            widget.wordWrap() or widget.sizePolicy().horizontalPolicy() is QSizePolicy.Policy.Ignored
        ):
            continue
        if widget.width() < widget.minimumSizeHint().width():
            text = widget.currentText() if isinstance(widget, QComboBox) else widget.text()
            found.append(
                f"{type(widget).__name__} {text!r}: {widget.width()} < {widget.minimumSizeHint().width()}"
            )
    return found


def room(window: MainWindow, harness: Harness, lang: str) -> None:
    names = [name for name, _ in CHATS[lang] if name != "alice"]
    bob, carol = dict.fromkeys(names)
    harness.peers = (
        peer(bob),
        peer(carol, muted=True),
        peer("dave" if lang == "en" else "Дима", voice=False),
    )
    harness.bridge.join(JoinRequest("ws://192.168.1.20:8765/ws", "lobby", "alice"))
    for i, (name, text) in enumerate(CHATS[lang], 1):
        harness.engine.chat(i, name, text, own=name == "alice")
    people = window.room.users
    people.set_call_stats([call(bob), call(carol, CandidateType.RELAYED, TransportProtocol.TCP, rtt_ms=48.0)])
    people.set_levels(False, {f"id-{bob}": -20.0})
    window.room.calls.meter.set_level(-38.0, False)


def shoot(out: Path, lang: str, dark: bool) -> list[str]:
    """The four pictures for one language and palette; returns what was clipped."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    style.use_palette(app, style.dark_palette() if dark else app.style().standardPalette())
    suffix = f"{lang}-{'dark' if dark else 'light'}"
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        harness = Harness(Path(tmp))
        window = MainWindow(harness.bridge, harness.prefs)
        window.resize(*LOGIN_SIZE)
        window.show()
        login = window.login
        login.username.setText("alice")
        app.processEvents()
        problems += clipped(window)
        window.grab().save(str(out / f"login-{suffix}.png"))
        login.set_hosting(8765, lambda: list(ADDRESSES))
        login.host.setChecked(True)
        login.hosting_box.set_scope(HostScope.NETWORK)
        login.password.setText("")
        app.processEvents()
        problems += clipped(window)
        window.grab().save(str(out / f"hosting-{suffix}.png"))
        login.host.setChecked(False)
        window.resize(*SIZE)
        room(window, harness, lang)
        app.processEvents()
        problems += clipped(window)
        window.grab().save(str(out / f"room-{suffix}.png"))
        settings = window.open_settings()
        app.processEvents()
        problems += clipped(settings)
        settings.grab().save(str(out / f"settings-{suffix}.png"))
        settings.close()
        window.close()
    return [f"{suffix}: {problem}" for problem in problems]


def main(out: Path) -> int:
    app = QApplication([])
    style.apply(app)
    build.release("ru")
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for lang in ("en", "ru"):
        translators = i18n.load(lang)
        for translator in translators:
            app.installTranslator(translator)
        for dark in (False, True):
            problems += shoot(out, lang, dark)
        for translator in translators:
            app.removeTranslator(translator)
    print("\n".join(problems) or "nothing clipped")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
