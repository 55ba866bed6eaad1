"""The chat view on its own: one block per message, appended in place, hostile text kept literal."""

import math

import pytest
from PySide6.QtGui import QColor, QFont, QTextBlock, QTextCharFormat
from pytestqt.qtbot import QtBot

from client_desktop.ui import chat_view, style
from client_desktop.ui.chat_document import END_ISOLATE, ISOLATE
from client_desktop.ui.chat_view import MAX_SHOWN, TRIM_STEP, ChatView, Delivered, Pending
from client_desktop.ui.markdown import MAX_MARKS

TS = 1_700_000_000_000


@pytest.fixture
def chat(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> ChatView:
    """A view that draws every line at once: these tests read the document right after adding."""
    monkeypatch.setattr(chat_view, "SLICE_S", math.inf)
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    view.show()
    view.set_own_name("alice")
    return view


def blocks(chat: ChatView) -> list[QTextBlock]:
    document = chat.browser.document()
    return [document.findBlockByNumber(i) for i in range(document.blockCount())]


def format_of(chat: ChatView, text: str) -> QTextCharFormat:
    """The character format the view gave the first fragment that holds ``text``."""
    for block in blocks(chat):
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if text in fragment.text():
                return fragment.charFormat()
            it += 1
    raise AssertionError(f"{text!r} is not shown")


def test_a_new_message_changes_only_the_end_of_the_document(chat: ChatView) -> None:
    for i in range(1, 51):
        chat.add_chat(i, f"p{i % 3}", f"line {i} " * 40, TS + i * 60_000, False, None)
    changes: list[tuple[int, int, int]] = []
    document = chat.browser.document()
    document.contentsChange.connect(lambda at, removed, added: changes.append((at, removed, added)))
    last_block_at = blocks(chat)[-1].position()
    chat.add_chat(51, "p0", "the new one", TS + 51 * 60_000, False, None)
    assert changes
    assert all(at >= last_block_at and removed <= 1 for at, removed, _added in changes)
    assert "the new one" in chat.plain_text()


def test_each_message_is_one_block_whatever_it_holds(chat: ChatView) -> None:
    hostile = [
        "two\nlines",
        "para\u2029graph",
        "frame\ufdd0marks\ufdd1here",
        "object\ufffcmarker",
        "line\u2028separator",
        '<img src="/etc/passwd"><a href="javascript:alert(1)">x</a>',
    ]
    for i, text in enumerate(hostile, start=1):
        chat.add_chat(i, f"name\n{i}", text, TS + i * 1000, False, None)
    assert len(blocks(chat)) == len(chat.lines()) == len(hostile)
    shown = chat.plain_text()
    assert '<img src="/etc/passwd"><a href="javascript:alert(1)">x</a>' in shown
    assert "two\nlines" in shown
    assert "para\ngraph" in shown
    assert "frame\ufffdmarks\ufffdhere" in shown
    html = chat.browser.toHtml()
    assert "<img" not in html
    assert "<a " not in html


def test_markdown_is_styled_and_markup_is_text(chat: ChatView) -> None:
    chat.add_chat(1, "bob", "**strong** _soft_ `<b>code</b>` https://example.org/x", TS, False, None)
    assert "strong soft <b>code</b> https://example.org/x" in chat.plain_text()
    assert format_of(chat, "strong").fontWeight() == QFont.Weight.Bold
    assert format_of(chat, "soft").fontItalic()
    assert format_of(chat, "soft").fontWeight() != QFont.Weight.Bold
    code = format_of(chat, "<b>code</b>")
    assert code.fontFamilies() != format_of(chat, "soft").fontFamilies()
    link = format_of(chat, "https://example.org/x")
    assert link.isAnchor()
    assert link.anchorHref() == "https://example.org/x"


def test_a_message_that_mentions_us_is_highlighted(chat: ChatView) -> None:
    chat.add_chat(1, "bob", "hello @Alice, look", TS, False, None)
    chat.add_chat(2, "carol", "hello malice", TS + 1000, False, None)
    chat.add_chat(3, "alice", "I am alice", TS + 2000, True, None)
    first, second, ours = blocks(chat)
    assert first.blockFormat().background().style().value != 0
    assert second.blockFormat().background().style().value == 0
    assert ours.blockFormat().background().style().value == 0  # our own name in our own line
    assert format_of(chat, "@Alice").fontWeight() == QFont.Weight.Bold


def test_a_new_own_name_rewrites_the_highlights(chat: ChatView) -> None:
    chat.add_chat(1, "bob", "hi zed", TS, False, None)
    assert blocks(chat)[0].blockFormat().background().style().value == 0
    chat.set_own_name("zed")
    assert blocks(chat)[0].blockFormat().background().style().value != 0


def test_names_and_bodies_are_isolated_so_right_to_left_text_stays_in_place(chat: ChatView) -> None:
    chat.add_chat(1, "\u202emallory", "\u202etext", TS, False, None)
    raw = chat.browser.toPlainText()
    assert raw.startswith(f"{ISOLATE}\u202emallory{END_ISOLATE} ")
    assert f"{ISOLATE}\u202etext{END_ISOLATE}" in raw


def test_a_flood_of_combining_marks_is_capped(chat: ChatView) -> None:
    chat.add_chat(1, "zalgo\u0301" * 2, ("a" + "\u0301" * 49) * 40, TS, False, None)
    shown = chat.plain_text()
    assert ("a" + "\u0301" * MAX_MARKS) * 40 in shown
    assert "\u0301" * (MAX_MARKS + 1) not in shown


def test_a_late_message_goes_in_its_place_and_regroups_its_neighbours(chat: ChatView) -> None:
    chat.add_chat(1, "bob", "one", TS, False, None)
    chat.add_chat(3, "bob", "three", TS + 2000, False, None)
    assert chat.plain_text().count("bob") == 1  # grouped under one header
    chat.add_chat(2, "carol", "two", TS + 1000, False, None)
    assert [line.key for line in chat.lines()] == [Delivered(1), Delivered(2), Delivered(3)]
    assert len(blocks(chat)) == 3
    assert chat.plain_text().count("bob") == 2  # three follows carol: it needs its own header
    assert chat.plain_text().index("two") < chat.plain_text().index("three")


def test_a_pending_line_is_replaced_in_place_by_its_echo(chat: ChatView) -> None:
    chat.add_chat(1, "bob", "before", TS, False, None)
    chat.add_pending("n1", "alice", "mine")
    assert "sending…" in chat.plain_text()
    chat.add_chat(2, "bob", "meanwhile", TS + 1000, False, None)
    assert chat.plain_text().index("meanwhile") < chat.plain_text().index("mine")
    chat.add_chat(3, "alice", "mine", TS + 2000, True, "n1")
    assert "sending…" not in chat.plain_text()
    assert len(blocks(chat)) == len(chat.lines()) == 3


def test_old_lines_drop_out_in_steps_and_the_first_keeps_a_header(chat: ChatView) -> None:
    for i in range(1, MAX_SHOWN + TRIM_STEP + 1):
        chat.add_chat(i, "bob", f"m{i}", TS + i * 1000, False, None)
    assert len(chat.lines()) == MAX_SHOWN
    assert len(blocks(chat)) == MAX_SHOWN
    assert chat.lines()[0].key == Delivered(TRIM_STEP + 1)
    assert chat.plain_text().startswith("bob ")
    chat.add_chat(MAX_SHOWN + TRIM_STEP + 1, "bob", "next", TS, False, None)
    assert len(chat.lines()) == MAX_SHOWN + 1  # the next trim waits for a whole step


def test_emoji_are_drawn_in_colour(chat: ChatView) -> None:
    if style.use_emoji_font() is None:
        pytest.skip("no colour emoji font installed (Debian: fonts-noto-color-emoji)")
    chat.add_chat(1, "bob", "😀🎉👍🏽", TS, False, None)
    image = chat.browser.viewport().grab().toImage()
    coloured = sum(
        QColor(image.pixel(x, y)).hsvSaturation() > 120
        for x in range(0, min(image.width(), 200))
        for y in range(0, min(image.height(), 60))
    )
    assert coloured > 50  # a missing font draws boxes or black outlines: no colour at all


def test_a_burst_is_drawn_over_turns_of_the_loop_in_order_and_whole(
    chat: ChatView, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chat_view, "SLICE_S", 1e-9)  # one line per turn
    chat.add_chat(1, "bob", "first", TS, False, None)
    chat.add_pending("n1", "alice", "mine")
    for i in range(2, 6):
        chat.add_chat(i, "bob", f"m{i}", TS + i, False, None)
    chat.add_chat(6, "alice", "mine", TS + 6, True, "n1")
    chat.add_chat(3, "bob", "m3 again", TS, False, None)
    assert len(blocks(chat)) == 2  # the first line, and ours on its way; the rest wait their turn
    assert [line.key for line in chat.lines()][:2] == [Delivered(1), Pending("n1")]
    # six blocks are drawn twice: with our line still pending (its delivery queued), then with it delivered
    qtbot.waitUntil(lambda: [line.key for line in chat.lines()] == [Delivered(i) for i in range(1, 7)])
    assert len(blocks(chat)) == 6
    assert chat.plain_text().count("mine") == 1
    assert "again" not in chat.plain_text()
