"""Who is in the room: name, you, call state icons, a live speaking light, per-user volume.

Each person we are in a call with also gets the call's path (direct,
relayed, connecting, failed) as an icon, with its figures in the tooltip.

Kept as values (``Peer`` by id) and re-sorted on every change: you first,
then the people in the call, then the rest, each by name. The speaking
light comes from the engine's level reports; the volume from a slider in
each row's context menu (also reachable with the keyboard's menu key),
where a moderator also finds what the room adds (``menu_extras``).
"""

from collections.abc import Callable
from typing import assert_never

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QContextMenuEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QSlider,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
    QWidgetAction,
)

from protocol import Peer, name_key

from ..engine.events import CallState
from ..engine.shapes import PeerCallStats
from . import call_path, icons, style
from .call_path import PathLook
from .icons import Glyph
from .markdown import tame
from .plain import add_header, shown_name
from .preferences import MAX_GAIN

SPEAKING_DBFS = -45.0
"""A peer's mix level above this lights their row (speech sits around -30 to -10 dBFS)."""
PEER_ROLE = Qt.ItemDataRole.UserRole
SPEAKING_ROLE = Qt.ItemDataRole.UserRole + 1
PATH_ROLE = Qt.ItemDataRole.UserRole + 2
"""The row's ``PathLook``, or None when we have no call with that person (or it is you)."""
ROW_HEIGHT = 40


class UsersPanel(QListWidget):
    gain_changed = Signal(str, float)  # peer id, gain (1.0 = as sent)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("users")
        self.setAccessibleName(self.tr("People in the room"))
        self.setItemDelegate(_Delegate(self))
        self.setUniformItemSizes(True)
        self.setMinimumWidth(200)
        self._peers: dict[str, Peer] = {}
        self._speaking: set[str] = set()
        self._gains: dict[str, float] = {}
        self._calls: dict[str, PeerCallStats] = {}
        self.self_id: str | None = None
        self.menu_extras: Callable[[QMenu, Peer | None], None] | None = None
        """Adds the room's own actions to a row's menu (the room gives a moderator's)."""

    # --- model ----------------------------------------------------------------

    def show_room(self, me: Peer, others: tuple[Peer, ...]) -> None:
        self.self_id = me.id
        self._peers = {me.id: me, **{p.id: p for p in others}}
        self._speaking &= set(self._peers)
        self._rebuild()

    def upsert(self, peer: Peer) -> None:
        self._peers[peer.id] = peer
        self._rebuild()

    def remove(self, peer_id: str) -> None:
        self._peers.pop(peer_id, None)
        self._calls.pop(peer_id, None)
        self._speaking.discard(peer_id)
        self._rebuild()

    def set_levels(self, my_transmitting: bool, peer_dbfs: dict[str, float]) -> None:
        speaking = {pid for pid, level in peer_dbfs.items() if level > SPEAKING_DBFS and pid in self._peers}
        if my_transmitting and self.self_id is not None:
            speaking.add(self.self_id)
        if speaking != self._speaking:
            self._speaking = speaking
            self._rebuild()

    def set_call_stats(self, rows: list[PeerCallStats]) -> None:
        """The engine's latest figures, per peer; rows are updated in place (the order does not change).

        A closed call is no call: it lingers in the engine only until the peer's connection is gone.
        """
        self._calls = {row.peer_id: row for row in rows if row.state is not CallState.CLOSED}
        for i in range(self.count()):
            item = self.item(i)
            peer = self._peers.get(str(item.data(PEER_ROLE)))
            if peer is not None:
                self._decorate(item, peer)

    def is_speaking(self, peer_id: str) -> bool:
        return peer_id in self._speaking

    def order(self) -> list[str]:
        return [str(self.item(i).data(PEER_ROLE)) for i in range(self.count())]

    def peer(self, peer_id: str) -> Peer | None:
        return self._peers.get(peer_id)

    def _rebuild(self) -> None:
        current = self.currentItem()
        keep = current.data(PEER_ROLE) if current is not None else None
        peers = sorted(
            self._peers.values(), key=lambda p: (p.id != self.self_id, not p.voice, p.username.casefold())
        )
        self.clear()
        for peer in peers:
            item = QListWidgetItem(peer.username)
            item.setData(PEER_ROLE, peer.id)
            self._decorate(item, peer)
            self.addItem(item)
            if peer.id == keep:
                self.setCurrentItem(item)

    def _decorate(self, item: QListWidgetItem, peer: Peer) -> None:
        item.setData(SPEAKING_ROLE, peer.id in self._speaking)
        lines = [self.describe(peer)]
        call = self._calls.get(peer.id) if peer.id != self.self_id else None
        item.setData(PATH_ROLE, None if call is None else call_path.look(call))
        if call is not None:
            lines.append(call_path.words(call))
        item.setData(Qt.ItemDataRole.AccessibleTextRole, ". ".join(lines))
        item.setToolTip(style.plain_tooltip(*lines))

    def describe(self, peer: Peer) -> str:
        words = [self.name_of(peer, peer.username)]
        words.append(self.tr("in the call") if peer.voice else self.tr("chat only"))
        words += [self.tr("muted")] * peer.muted + [self.tr("deafened")] * peer.deafened
        words += [self.tr("speaking")] * (peer.id in self._speaking)
        gain = self._gains.get(peer.id, 1.0)
        if gain != 1.0:
            words.append(self.tr("volume {percent}%").format(percent=round(gain * 100)))
        return self.tr(", ").join(words)

    def name_of(self, peer: Peer, name: str) -> str:
        """``name`` (the peer's, as it is to be shown), marked when it is ours."""
        return self.tr("{name} (you)").format(name=name) if peer.id == self.self_id else name

    # --- the menu: volume, and what the room adds (a moderator's actions) ----------

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 - Qt's name
        item = self.itemAt(event.pos()) or self.currentItem()
        menu = self.menu_for(None if item is None else self._peers.get(str(item.data(PEER_ROLE))))
        if not menu.isEmpty():
            menu.exec(event.globalPos())

    def menu_for(self, peer: Peer | None) -> QMenu:
        """The context menu for ``peer``'s row (None: no row): its volume, then ``menu_extras``."""
        menu = QMenu(self)
        if peer is not None and peer.id != self.self_id:
            add_header(menu, shown_name(peer.username))
            self._add_volume(menu, peer.id)
        if self.menu_extras is not None:
            self.menu_extras(menu, peer)
        return menu

    def _add_volume(self, menu: QMenu, peer_id: str) -> None:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(0, round(MAX_GAIN * 100))
        slider.setValue(round(self._gains.get(peer_id, 1.0) * 100))
        slider.setAccessibleName(self.tr("Volume"))
        slider.setMinimumWidth(160)
        value = QLabel(f"{slider.value()}%")
        value.setMinimumWidth(40)
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(10, 4, 10, 4)
        box.addWidget(QLabel(self.tr("Volume")))
        box.addWidget(slider)
        box.addWidget(value)
        action = QWidgetAction(menu)
        action.setDefaultWidget(row)
        menu.addAction(action)
        menu.addAction(self.tr("Reset volume"), lambda: slider.setValue(100))

        def changed(percent: int) -> None:
            value.setText(f"{percent}%")
            self.set_gain(peer_id, percent / 100)

        slider.valueChanged.connect(changed)

    def set_gain(self, peer_id: str, gain: float) -> None:
        """The person at the keyboard chose a volume: shown, and said on ``gain_changed``."""
        self.show_gain(peer_id, gain)
        self.gain_changed.emit(peer_id, gain)

    def forget_gains(self) -> None:
        """A new join (a new engine): the volumes shown are those applied again after it."""
        self._gains.clear()

    def show_gain(self, peer_id: str, gain: float) -> None:
        """Show a volume set elsewhere (a remembered one) without announcing it as a new choice."""
        self._gains[peer_id] = gain
        self._rebuild()


class _Delegate(QStyledItemDelegate):
    def __init__(self, panel: UsersPanel) -> None:
        super().__init__(panel)
        self._panel = panel

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        return QSize(200, ROW_HEIGHT)

    def paint(
        self, p: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        peer = self._panel.peer(str(index.data(PEER_ROLE)))
        if peer is None:
            return
        r: QRect = option.rect
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if selected:
            p.fillRect(r, palette.highlight())
        text = palette.highlightedText().color() if selected else palette.text().color()
        speaking = bool(index.data(SPEAKING_ROLE))
        # the avatar: an initial in a circle, ringed in green while speaking
        d = ROW_HEIGHT - 12
        circle = QRect(r.left() + 8, r.top() + 6, d, d)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(_avatar_colour(peer.username))
        p.drawEllipse(circle)
        if speaking:
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(style.accent(), 3))
            p.drawEllipse(circle.adjusted(-2, -2, 2, 2))
        p.setPen(QColor("white"))
        font = p.font()
        font.setBold(True)
        p.setFont(font)
        p.drawText(circle, Qt.AlignmentFlag.AlignCenter, peer.username[:1].upper())
        # the name
        font.setBold(peer.id == self._panel.self_id)
        p.setFont(font)
        p.setPen(text)
        icons_w = 4 * 20
        name_rect = QRect(circle.right() + 10, r.top(), r.width() - d - 26 - icons_w, r.height())
        name = self._panel.name_of(peer, tame(peer.username))
        elided = p.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, name_rect.width())
        p.drawText(name_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, elided)
        # the state icons, right-aligned
        x = r.right() - 24
        y = r.top() + (r.height() - 16) // 2
        ratio = p.device().devicePixelRatioF()
        dim = palette.placeholderText().color()
        path = index.data(PATH_ROLE)
        if isinstance(path, PathLook):
            glyph, crossed, colour = _path_icon(path, dim)
            p.drawPixmap(QPoint(x, y), icons.pixmap(glyph, 16, colour, crossed, ratio))
        if isinstance(path, PathLook) or peer.voice:  # the slot is kept (you, no figures yet): columns align
            x -= 20
        for glyph, crossed, colour, shown in (
            (Glyph.HEADPHONES, True, style.muted_red(), peer.deafened),
            (Glyph.MIC, True, style.muted_red(), peer.muted),
            (Glyph.SPEAKER, False, style.accent() if speaking else dim, peer.voice),
        ):
            if shown:
                p.drawPixmap(QPoint(x, y), icons.pixmap(glyph, 16, colour, crossed, ratio))
                x -= 20
        p.restore()


def _path_icon(path: PathLook, dim: QColor) -> tuple[Glyph, bool, QColor]:
    """Glyph, crossed, colour: the shape tells direct from relayed, so colour is only a hint."""
    match path:
        case PathLook.DIRECT:
            return Glyph.LINK, False, dim
        case PathLook.RELAYED:
            return Glyph.RELAY, False, dim
        case PathLook.CONNECTING:
            faint = QColor(dim)
            faint.setAlphaF(0.6)
            return Glyph.LINKING, False, faint
        case PathLook.FAILED:
            return Glyph.LINK, True, style.muted_red()
        case _:
            assert_never(path)


def _avatar_colour(name: str) -> QColor:
    """A stable colour per name, so people are recognisable at a glance."""
    hue = sum(ord(ch) * 31 for ch in name_key(name)) % 360  # look-alike names get the same colour
    return QColor.fromHsl(hue, 110, 110)
