"""Benchmark of the chat view: what one more message costs with many already shown.

Usage: ``.venv/bin/python bench/chat_view_bench.py [--appends 40] [--json OUT]``.
Prints a markdown table; a run takes about a minute.

A real ``ChatView``, offscreen (``QT_QPA_PLATFORM=offscreen``), 640x480 and
shown, is filled with 0, 500 or 2000 messages of one kind (as a history:
one batch), then gets ``--appends`` live messages of the same kind, one at
a time. The history is timed from the first ``add_chat`` until its layout is
complete. Each append is timed from the call to ``add_chat`` until Qt has handled
every event it caused (layout, scroll, paint): that is how long the event
loop, and the call on it, is held. Kinds: a short line, a long line (the
protocol's 2000 characters of words), and a combining-mark flood (2000
characters: each letter followed by 49 marks, "Zalgo"). The view keeps at
most ``MAX_SHOWN`` messages (and a few more until it trims), so 2000
delivered is about that many shown. ``--tree DIR`` benchmarks the chat view
of another commit (``git archive COMMIT client_desktop protocol | tar -x -C DIR``).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_tree = sys.argv[sys.argv.index("--tree") + 1] if "--tree" in sys.argv else None
sys.path.insert(0, _tree or str(Path(__file__).resolve().parent.parent))

from PySide6.QtWidgets import QApplication  # noqa: E402

from client_desktop.ui import style  # noqa: E402
from client_desktop.ui.chat_view import MAX_SHOWN, ChatView  # noqa: E402
from protocol import limits  # noqa: E402

TS_MS = 1_700_000_000_000
FILLS = (0, 500, 2000)


def texts(kind: str, i: int) -> str:
    """Message ``i`` of a kind; each differs, so nothing can be cached by text."""
    if kind == "short":
        return f"message {i}: see you at eight"
    if kind == "long":
        words = " ".join(f"word{i}x{j}" for j in range(400))
        return words[: limits.MAX_CHAT_CHARS]
    if kind == "combining":
        marks = "".join(chr(0x300 + (i + j) % 0x70) for j in range(49))
        return ((chr(0x61 + i % 26) + marks) * 40)[: limits.MAX_CHAT_CHARS]
    raise ValueError(kind)


def measure(app: QApplication, kind: str, fill: int, appends: int) -> tuple[float, list[float]]:
    """How long the history took to show (ms), and each append after it."""
    view = ChatView()
    view.resize(640, 480)
    view.show()
    app.processEvents()
    start = time.perf_counter()
    for i in range(fill):
        view.add_chat(i + 1, f"peer{i % 3}", texts(kind, i), TS_MS + i * 60_000, False, None, defer=True)
    app.processEvents()
    settle(view)
    history_ms = (time.perf_counter() - start) * 1000
    took: list[float] = []
    for n in range(appends):
        chat_id = fill + n + 1
        text = texts(kind, chat_id)
        start = time.perf_counter()
        view.add_chat(chat_id, f"peer{n % 3}", text, TS_MS + chat_id * 60_000, False, None)
        app.processEvents()
        took.append((time.perf_counter() - start) * 1000)
    view.close()
    view.deleteLater()
    app.processEvents()
    return history_ms, took


def settle(view: ChatView) -> None:
    """Finish the document's layout now: Qt lays a large document out in steps on a timer,
    and the first append would otherwise pay for what is left (counted with the history)."""
    document = view.browser.document()
    document.documentLayout().blockBoundingRect(document.lastBlock())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=40, help="live messages timed per case")
    parser.add_argument("--tree", type=Path, help="import the chat view from this checkout instead")
    parser.add_argument("--json", type=Path, help="write every timing here (per case: history, then appends)")
    args = parser.parse_args()
    app = QApplication([])
    style.apply(app)
    print(f"load average at start: {os.getloadavg()[0]:.2f}; the view keeps at most {MAX_SHOWN} messages\n")
    print("| kind | delivered before | history shown, ms | median ms per message | p90 ms | max ms |")
    print("|---|---|---|---|---|---|")
    results: dict[str, list[float]] = {}
    for kind in ("short", "long", "combining"):
        for fill in FILLS:
            history_ms, took = measure(app, kind, fill, args.appends)
            results[f"{kind}/{fill}"] = [history_ms, *took]
            p90 = statistics.quantiles(took, n=10)[-1]
            cells = f"{history_ms:.0f} | {statistics.median(took):.2f} | {p90:.2f} | {max(took):.2f}"
            print(f"| {kind} | {fill} | {cells} |", flush=True)
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")
    if args.json is not None:
        args.json.write_text(json.dumps(results))


if __name__ == "__main__":
    main()
