"""Icons drawn with QPainter at any size: crisp on HiDPI, nothing to ship or download.

Each is a monochrome glyph in the palette's text colour (or a given colour),
so it follows light and dark themes.
"""

from collections.abc import Callable
from enum import Enum
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

Draw = Callable[[QPainter, float], None]
SIZES = (16, 24, 32, 48, 64, 128, 256)


def _mic(p: QPainter, s: float) -> None:
    p.drawRoundedRect(QRectF(s * 0.36, s * 0.1, s * 0.28, s * 0.48), s * 0.14, s * 0.14)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawArc(QRectF(s * 0.24, s * 0.28, s * 0.52, s * 0.44), 180 * 16, 180 * 16)
    p.drawLine(QPointF(s * 0.5, s * 0.72), QPointF(s * 0.5, s * 0.88))
    p.drawLine(QPointF(s * 0.34, s * 0.88), QPointF(s * 0.66, s * 0.88))


def _headphones(p: QPainter, s: float) -> None:
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawArc(QRectF(s * 0.18, s * 0.16, s * 0.64, s * 0.64), 0, 180 * 16)
    p.setBrush(p.pen().color())
    p.drawRoundedRect(QRectF(s * 0.14, s * 0.5, s * 0.16, s * 0.32), s * 0.05, s * 0.05)
    p.drawRoundedRect(QRectF(s * 0.70, s * 0.5, s * 0.16, s * 0.32), s * 0.05, s * 0.05)


def _speaker(p: QPainter, s: float) -> None:
    path = QPainterPath()
    path.moveTo(s * 0.12, s * 0.38)
    path.lineTo(s * 0.3, s * 0.38)
    path.lineTo(s * 0.52, s * 0.18)
    path.lineTo(s * 0.52, s * 0.82)
    path.lineTo(s * 0.3, s * 0.62)
    path.lineTo(s * 0.12, s * 0.62)
    path.closeSubpath()
    p.drawPath(path)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawArc(QRectF(s * 0.42, s * 0.3, s * 0.3, s * 0.4), -50 * 16, 100 * 16)
    p.drawArc(QRectF(s * 0.4, s * 0.18, s * 0.46, s * 0.64), -50 * 16, 100 * 16)


def _gear(p: QPainter, s: float) -> None:
    p.save()
    p.translate(s / 2, s / 2)
    for _ in range(8):
        p.drawRoundedRect(QRectF(-s * 0.07, -s * 0.42, s * 0.14, s * 0.2), s * 0.03, s * 0.03)
        p.rotate(45)
    p.restore()
    p.drawEllipse(QPointF(s / 2, s / 2), s * 0.27, s * 0.27)
    p.setBrush(QBrush(QColor(0, 0, 0, 0)))
    p.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
    p.drawEllipse(QPointF(s / 2, s / 2), s * 0.11, s * 0.11)


def _people(p: QPainter, s: float) -> None:
    p.drawEllipse(QPointF(s * 0.36, s * 0.32), s * 0.13, s * 0.13)
    p.drawPie(QRectF(s * 0.12, s * 0.5, s * 0.48, s * 0.5), 0, 180 * 16)
    p.drawEllipse(QPointF(s * 0.68, s * 0.36), s * 0.11, s * 0.11)
    p.drawPie(QRectF(s * 0.5, s * 0.54, s * 0.38, s * 0.42), 0, 180 * 16)


def _ends(p: QPainter, s: float) -> None:
    """The two people of a call, as dots at either end."""
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(QPointF(s * 0.2, s * 0.5), s * 0.14, s * 0.14)
    p.drawEllipse(QPointF(s * 0.8, s * 0.5), s * 0.14, s * 0.14)


def _link(p: QPainter, s: float) -> None:
    """A direct call: the two ends joined by a straight line."""
    p.setPen(QPen(p.pen().color(), s * 0.12))
    p.drawLine(QPointF(s * 0.2, s * 0.5), QPointF(s * 0.8, s * 0.5))
    _ends(p, s)


def _linking(p: QPainter, s: float) -> None:
    """A call still connecting: the two ends, nothing between them yet but a dotted gap."""
    _ends(p, s)
    p.drawEllipse(QPointF(s * 0.5, s * 0.5), s * 0.06, s * 0.06)


def _relay(p: QPainter, s: float) -> None:
    """A relayed call: a cloud (the relay server) in between."""
    cloud = QPainterPath()
    cloud.setFillRule(Qt.FillRule.WindingFill)  # the puffs overlap; odd-even would punch holes
    cloud.addEllipse(QPointF(s * 0.3, s * 0.58), s * 0.2, s * 0.2)
    cloud.addEllipse(QPointF(s * 0.54, s * 0.42), s * 0.26, s * 0.26)
    cloud.addEllipse(QPointF(s * 0.76, s * 0.6), s * 0.18, s * 0.18)
    cloud.addRoundedRect(QRectF(s * 0.1, s * 0.58, s * 0.84, s * 0.2), s * 0.1, s * 0.1)
    p.setPen(Qt.PenStyle.NoPen)
    p.drawPath(cloud)


class Glyph(Enum):
    MIC = "mic"
    HEADPHONES = "headphones"
    SPEAKER = "speaker"
    GEAR = "gear"
    PEOPLE = "people"
    LINK = "link"
    LINKING = "linking"
    RELAY = "relay"


GLYPHS: dict[Glyph, Draw] = {
    Glyph.MIC: _mic,
    Glyph.HEADPHONES: _headphones,
    Glyph.SPEAKER: _speaker,
    Glyph.GEAR: _gear,
    Glyph.PEOPLE: _people,
    Glyph.LINK: _link,
    Glyph.LINKING: _linking,
    Glyph.RELAY: _relay,
}


def pixmap(glyph: Glyph, size: int, color: QColor, crossed: bool = False, ratio: float = 1.0) -> QPixmap:
    pm = QPixmap(round(size * ratio), round(size * ratio))
    pm.setDevicePixelRatio(ratio)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(color, max(1.2, size * 0.09), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    p.setBrush(color)
    GLYPHS[glyph](p, float(size))
    if crossed:
        p.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        p.setPen(QPen(color, max(1.5, size * 0.11), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        p.drawLine(QPointF(size * 0.14, size * 0.14), QPointF(size * 0.86, size * 0.86))
    p.end()
    return pm


def icon(glyph: Glyph, color: QColor, crossed: bool = False) -> QIcon:
    result = QIcon()
    for size in (16, 24, 32, 48):
        result.addPixmap(pixmap(glyph, size, color, crossed, 2.0))
    return result


@cache
def app_icon() -> QIcon:
    """A green rounded square with a white microphone and sound waves (drawn once: the application
    and its window both show it at start)."""
    result = QIcon()
    for size in SIZES:
        pm = QPixmap(size, size)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#2e7d32"))
        p.drawRoundedRect(QRectF(0, 0, size, size), size * 0.22, size * 0.22)
        p.drawPixmap(
            round(size * 0.15), round(size * 0.15), pixmap(Glyph.MIC, round(size * 0.7), QColor("white"))
        )
        p.end()
        result.addPixmap(pm)
    return result
