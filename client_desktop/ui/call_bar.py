"""The call controls along the bottom: voice, mute, deafen, the input meter, settings.

Buttons are checkable and only *say* what they want (``voice_toggled``
etc.); the room wires them to the bridge and feeds the true state back
through ``show_self``, so a control never shows a state the engine is not in.
"""

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QKeySequence, QPainter, QPaintEvent, QResizeEvent, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from protocol import Peer

from ..engine.shapes import TalkMode
from . import icons, style
from .icons import Glyph
from .preferences import AudioSettings

FLOOR_DBFS = -60.0


class LevelMeter(QWidget):
    """The microphone's level, green while we transmit, with the voice-activity threshold marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level_dbfs = FLOOR_DBFS
        self.transmitting = False
        self.threshold_dbfs: float | None = None
        self.setAccessibleName(self.tr("Input level"))
        self.setMinimumSize(90, 10)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(140, 10)

    def set_level(self, dbfs: float, transmitting: bool) -> None:
        self.level_dbfs, self.transmitting = dbfs, transmitting
        self.setAccessibleDescription(f"{dbfs:.0f} dBFS")
        self.update()

    def fraction(self, dbfs: float) -> float:
        return min(1.0, max(0.0, (dbfs - FLOOR_DBFS) / -FLOOR_DBFS))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(self.palette().mid().color())
        p.setBrush(self.palette().base())
        p.drawRoundedRect(r, 4, 4)
        fill = QRectF(r.left(), r.top(), r.width() * self.fraction(self.level_dbfs), r.height())
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(style.accent() if self.transmitting else self.palette().mid())
        p.drawRoundedRect(fill, 4, 4)
        if self.threshold_dbfs is not None:
            x = r.left() + r.width() * self.fraction(self.threshold_dbfs)
            p.setPen(self.palette().text().color())
            p.drawLine(round(x), round(r.top()), round(x), round(r.bottom()))
        p.end()


class CallBar(QWidget):
    voice_toggled = Signal(bool)
    mute_toggled = Signal(bool)
    deafen_toggled = Signal(bool)
    settings_requested = Signal()
    people_toggled = Signal(bool)
    leave_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        colour = self.palette().text().color()
        self.voice = self._button(
            self.tr("Join voice"), icons.icon(Glyph.SPEAKER, colour), self.tr("Join or leave the voice call")
        )
        self.mute = self._button(
            self.tr("Mute"),
            icons.icon(Glyph.MIC, colour, crossed=True),
            self.tr("Mute your microphone (Ctrl+M)"),
        )
        self.deafen = self._button(
            self.tr("Deafen"),
            icons.icon(Glyph.HEADPHONES, colour, crossed=True),
            self.tr("Hear nothing and mute (Ctrl+D)"),
        )
        self.meter = LevelMeter()
        self.mode = QLabel()
        self.mode.setObjectName("hint")
        self.settings = self._button(
            self.tr("Settings"), icons.icon(Glyph.GEAR, colour), self.tr("Audio settings"), checkable=False
        )
        self.people = self._button(
            self.tr("People"), icons.icon(Glyph.PEOPLE, colour), self.tr("Show or hide who is here")
        )
        self.people.setChecked(True)
        self.leave = QToolButton()
        self.leave.setText(self.tr("Leave room", "the button's short text; its full name is read aloud"))
        self.leave.setAccessibleName(self.tr("Leave room"))
        self.voice.toggled.connect(self.voice_toggled)
        self.mute.toggled.connect(self.mute_toggled)
        self.deafen.toggled.connect(self.deafen_toggled)
        self.settings.clicked.connect(self.settings_requested)
        self.people.toggled.connect(self.people_toggled)
        self.leave.clicked.connect(self.leave_requested)
        QShortcut(QKeySequence("Ctrl+M"), self, self.mute.toggle, Qt.ShortcutContext.WindowShortcut)
        QShortcut(QKeySequence("Ctrl+D"), self, self.deafen.toggle, Qt.ShortcutContext.WindowShortcut)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        for widget in (self.voice, self.mute, self.deafen):
            layout.addWidget(widget)
        layout.addSpacing(8)
        layout.addWidget(self.meter, 1)
        layout.addWidget(self.mode)
        layout.addSpacing(8)
        for widget in (self.people, self.settings, self.leave):
            layout.addWidget(widget)
        self._narrow = False
        """The room asked for icons only (a narrow window)."""
        self._compact = False
        self._words_px = 0
        """The width the bar needs with its words, measured when they change."""
        self._measure()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        """The system theme changed (light to dark): redraw the glyphs in the new text colour."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            colour = self.palette().text().color()
            for button, glyph, crossed in (
                (self.voice, Glyph.SPEAKER, False),
                (self.mute, Glyph.MIC, True),
                (self.deafen, Glyph.HEADPHONES, True),
                (self.settings, Glyph.GEAR, False),
                (self.people, Glyph.PEOPLE, False),
            ):
                button.setIcon(icons.icon(glyph, colour, crossed))

    def _button(self, text: str, icon: object, tip: str, checkable: bool = True) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setIcon(icon)  # type: ignore[arg-type]
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setCheckable(checkable)
        button.setToolTip(tip)
        button.setAccessibleName(text)
        button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        return button

    def set_compact(self, narrow: bool) -> None:
        """Icons only on a narrow window, or wherever the words do not fit (a longer language): the
        names stay as tooltips and accessible names."""
        self._narrow = narrow
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        self._shape(self._narrow or self.width() < self._words_px)

    def _shape(self, compact: bool) -> None:
        if compact == self._compact:
            return
        self._compact = compact
        shape = (
            Qt.ToolButtonStyle.ToolButtonIconOnly if compact else Qt.ToolButtonStyle.ToolButtonTextBesideIcon
        )
        for button in (self.voice, self.mute, self.deafen, self.people, self.settings):
            button.setToolButtonStyle(shape)
        self.mode.setVisible(not compact)

    def _measure(self) -> None:
        """How wide the bar is with words beside the icons (shown so for a moment if need be)."""
        compact = self._compact
        self._shape(False)
        self._words_px = self.minimumSizeHint().width()
        self._shape(compact)
        self._fit()

    def show_self(self, me: Peer) -> None:
        """Reflect our true state without echoing it back as a request."""
        for button, on in ((self.voice, me.voice), (self.mute, me.muted), (self.deafen, me.deafened)):
            button.blockSignals(True)
            button.setChecked(on)
            button.blockSignals(False)
        self.voice.setText(self.tr("Leave voice") if me.voice else self.tr("Join voice"))
        self.voice.setAccessibleName(self.voice.text())
        self.mute.setEnabled(me.voice)
        self.deafen.setEnabled(me.voice)
        self.meter.setEnabled(me.voice)
        self._measure()

    def show_settings(self, settings: AudioSettings) -> None:
        if settings.options.talk_mode is TalkMode.PUSH_TO_TALK:
            self.mode.setText(self.tr("Push to talk: hold {key}").format(key=settings.ptt_key))
            self.meter.threshold_dbfs = None
        else:
            self.mode.setText(self.tr("Voice activity"))
            self.meter.threshold_dbfs = settings.options.vad_threshold_dbfs
        self.meter.update()
        self._measure()
