"""The look: Fusion, the system's light or dark palette, and a few spacing rules.

Colours come from the palette (``palette(...)`` in the style sheet), so a
dark system theme gives a dark app without a second style sheet. Accent
colours that must read on both are picked by the palette's lightness.
"""

import html

from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

EMOJI_FAMILIES = ("Noto Color Emoji", "Apple Color Emoji", "Segoe UI Emoji", "Twemoji", "JoyPixels")
"""Colour emoji fonts, by platform (Linux, macOS, Windows, and two a Linux user may add)."""

STYLE_SHEET = """
QWidget#card { background: palette(alternate-base); border: 1px solid palette(mid); border-radius: 10px; }
QLabel#title { font-size: 20pt; font-weight: 600; }
QLabel#roomTitle { font-size: 13pt; font-weight: 600; }
QLabel#hint { color: palette(placeholder-text); }
QLabel#error { color: #c62828; font-weight: 600; }
QLabel#banner { padding: 6px 10px; border-radius: 6px; background: palette(alternate-base);
                border: 1px solid palette(mid); }
QLabel#banner[kind="warn"] { border-color: #e0a000; }
QLabel#banner[kind="error"] { border-color: #c62828; }
QLabel#count[over="true"] { color: #c62828; font-weight: 600; }
QPushButton { padding: 5px 12px; }
QToolButton { padding: 4px 8px; }
QToolButton:checked { background: palette(highlight); color: palette(highlighted-text); border-radius: 4px; }
QListWidget#users { border: none; background: palette(window); }
QTextBrowser#chat { border: none; background: palette(base); }
QLineEdit, QPlainTextEdit { padding: 4px; }
"""


def escape(text: str) -> str:
    return html.escape(text, quote=True)


def plain_tooltip(*lines: str) -> str:
    """A tooltip that shows ``lines`` exactly as written.

    Qt renders a tooltip as HTML when it merely looks like HTML, so a name
    like ``<b>bob</b>`` would turn bold: escape every line and mark the
    whole as rich text ourselves, kept on one line each (``pre``).
    """
    body = "<br>".join(escape(line) for line in lines)
    return f'<p style="white-space:pre">{body}</p>'


def is_dark() -> bool:
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def accent() -> QColor:
    """The speaking/in-call green, light enough on dark backgrounds."""
    return QColor("#4caf50") if is_dark() else QColor("#2e7d32")


def muted_red() -> QColor:
    return QColor("#ef5350") if is_dark() else QColor("#c62828")


def dark_palette() -> QPalette:
    """The palette a system in dark mode hands a Fusion app (for screenshots and tests)."""
    p = QPalette()
    roles = QPalette.ColorRole
    for role, colour in (
        (roles.Window, "#2b2b2b"),
        (roles.WindowText, "#e6e6e6"),
        (roles.Base, "#1e1e1e"),
        (roles.AlternateBase, "#333333"),
        (roles.ToolTipBase, "#3c3c3c"),
        (roles.ToolTipText, "#e6e6e6"),
        (roles.PlaceholderText, "#9a9a9a"),
        (roles.Text, "#e6e6e6"),
        (roles.Button, "#3a3a3a"),
        (roles.ButtonText, "#e6e6e6"),
        (roles.BrightText, "#ff6e6e"),
        (roles.Light, "#505050"),
        (roles.Midlight, "#454545"),
        (roles.Mid, "#555555"),
        (roles.Dark, "#1a1a1a"),
        (roles.Shadow, "#000000"),
        (roles.Highlight, "#3d7bd6"),
        (roles.HighlightedText, "#ffffff"),
        (roles.Link, "#6ab0ff"),
        (roles.LinkVisited, "#b48cf2"),
    ):
        p.setColor(role, QColor(colour))
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    return p


def use_palette(app: QApplication, palette: QPalette) -> None:
    """Switch palettes at run time (the system's theme changed): style sheet colours follow."""
    app.setPalette(palette)
    app.setStyleSheet(STYLE_SHEET)  # re-resolves palette(...) in the sheet


def use_emoji_font() -> str | None:
    """Name the installed colour emoji font as Qt's emoji fallback; return it (None: none found).

    Without one, Qt takes the first font fontconfig offers for each emoji,
    which may draw a box or a black-and-white glyph (DejaVu has some).
    Debian's is ``fonts-noto-color-emoji`` (``./dev`` installs it).
    """
    installed = set(QFontDatabase.families())
    for family in EMOJI_FAMILIES:
        if family in installed:
            if family not in QFontDatabase.applicationEmojiFontFamilies():
                QFontDatabase.addApplicationEmojiFontFamily(family)
            return family
    return None


def apply(app: QApplication) -> None:
    app.setStyle("Fusion")
    app.setStyleSheet(STYLE_SHEET)
    use_emoji_font()
