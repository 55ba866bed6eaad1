"""Render the app icon (the one the window uses, drawn by ``client_desktop.ui.icons``) to files.

``python packaging/make_icon.py OUT_DIR`` writes ``voxroom.png`` (256 px, for the Linux
.desktop entry), and ``voxroom.ico`` (Windows) and ``voxroom.icns`` (macOS) where Qt's
image-format plugins can write them; the specs take the one for their platform.
Run off-screen: ``QT_QPA_PLATFORM=offscreen``.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QSize
from PySide6.QtGui import QImageWriter
from PySide6.QtWidgets import QApplication

from client_desktop.ui import icons


def main(out: Path) -> int:
    _app = QApplication(sys.argv[:1])
    out.mkdir(parents=True, exist_ok=True)
    icon = icons.app_icon()
    if not icon.pixmap(QSize(256, 256)).save(str(out / "voxroom.png"), "PNG"):
        print("could not write voxroom.png", file=sys.stderr)
        return 1
    writable = {bytes(f.data()).decode() for f in QImageWriter.supportedImageFormats()}
    for fmt in ("ico", "icns"):  # Windows and macOS (Qt's imageformats plugins)
        if fmt in writable:
            icon.pixmap(QSize(256, 256)).save(str(out / f"voxroom.{fmt}"), fmt.upper())
    print(f"icons in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("build/icons")))
