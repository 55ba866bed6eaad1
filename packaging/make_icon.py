"""Render the app icon (the one the window uses, drawn by ``client_desktop.ui.icons``) to files.

``python packaging/make_icon.py OUT_DIR`` writes ``voxroom.png`` (256 px, for the Linux
.desktop entry), the hicolor theme's ``hicolor/SIZExSIZE/apps/voxroom.png`` at every size the
window icon has and ``hicolor/scalable/apps/voxroom.svg`` (for the .deb), and ``voxroom.ico``
(Windows) and ``voxroom.icns`` (macOS) where Qt's image-format plugins can write them; the specs
take the one for their platform.
Run off-screen: ``QT_QPA_PLATFORM=offscreen``.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImageWriter, QPainter, QPen
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QApplication

from client_desktop.ui import icons


def main(out: Path) -> int:
    _app = QApplication(sys.argv[:1])
    out.mkdir(parents=True, exist_ok=True)
    icon = icons.app_icon()
    if not icon.pixmap(QSize(256, 256)).save(str(out / "voxroom.png"), "PNG"):
        print("could not write voxroom.png", file=sys.stderr)
        return 1
    for size in icons.SIZES:
        folder = out / "hicolor" / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        if not icon.pixmap(QSize(size, size)).save(str(folder / "voxroom.png"), "PNG"):
            print(f"could not write the {size} px icon", file=sys.stderr)
            return 1
    write_svg(out / "hicolor" / "scalable" / "apps" / "voxroom.svg")
    writable = {bytes(f.data()).decode() for f in QImageWriter.supportedImageFormats()}
    for fmt in ("ico", "icns"):  # Windows and macOS (Qt's imageformats plugins)
        if fmt in writable:
            icon.pixmap(QSize(256, 256)).save(str(out / f"voxroom.{fmt}"), fmt.upper())
    print(f"icons in {out}")
    return 0


def write_svg(path: Path, size: int = 256) -> None:
    """The app icon as vectors: what ``icons.app_icon`` paints, with the glyph drawn, not pasted in."""
    path.parent.mkdir(parents=True, exist_ok=True)
    svg = QSvgGenerator()
    svg.setFileName(str(path))
    svg.setSize(QSize(size, size))
    svg.setViewBox(QRectF(0, 0, size, size))
    svg.setTitle("Voxroom")
    p = QPainter(svg)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#2e7d32"))
    p.drawRoundedRect(QRectF(0, 0, size, size), size * 0.22, size * 0.22)
    glyph, white = size * 0.7, QColor("white")
    p.translate(size * 0.15, size * 0.15)
    p.setPen(QPen(white, glyph * 0.09, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))  # as icons.pixmap
    p.setBrush(white)
    icons.GLYPHS[icons.Glyph.MIC](p, glyph)
    p.end()


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("build/icons")))
