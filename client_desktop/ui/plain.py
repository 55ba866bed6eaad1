"""Peer-given names beside our own words, in widgets that never read them as markup or shortcuts.

A ``QLabel`` guesses rich text from the look of its text, and a menu item
reads ``&`` as a shortcut mark; these helpers pin labels to plain text, so
names go in labels (a menu's header), never in a menu item's text.
"""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMenu, QWidgetAction

from .chat_document import END_ISOLATE, ISOLATE
from .markdown import tame


def shown_name(name: str) -> str:
    """A peer's name as it may be shown beside our words: tamed, and isolated so an RTL name
    cannot reorder the sentence around it."""
    return f"{ISOLATE}{tame(name)}{END_ISOLATE}"


def plain_label(text: str, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    return label


def add_header(menu: QMenu, text: str) -> QLabel:
    """A menu's first line, as plain text (a name in it stays exactly as written)."""
    label = plain_label(text, "menuHeader")
    label.setWordWrap(False)
    label.setContentsMargins(10, 4, 10, 4)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    action = QWidgetAction(menu)
    action.setDefaultWidget(label)
    menu.addAction(action)
    return label
