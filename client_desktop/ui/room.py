"""The room: its name and server, status banners, chat and people side by side, the call bar below.

It listens to the bridge's signals and calls the bridge's methods; it
holds no engine and no asyncio. The people panel folds away on narrow
windows (and comes back when there is room, unless hidden by hand). It
remembers, per server, the volume given to each name (applied as that
name arrives, whatever its new peer id) and the room we were last in.
"""

from urllib.parse import urlsplit

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from protocol import Peer

from ..engine import events
from . import style
from .announce import Announcer
from .bridge import Bridge
from .call_bar import CallBar
from .chat_view import ChatView, Line
from .markdown import tame
from .moderation import Moderation
from .preferences import Preferences
from .status import Banner, ConnectionStatus, NoticeKind
from .users_panel import UsersPanel

NARROW_PX = 620


class RoomView(QWidget):
    def __init__(
        self, bridge: Bridge, prefs: Preferences | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.prefs = prefs
        self.room_name = ""
        self.server_name = ""
        self._hosted_at = ""
        self.title = _plain_label("roomTitle", self.tr("Room"))
        self.title.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)  # at most 64 chars
        self.server = _plain_label("hint", self.tr("Server"))
        self.status = ConnectionStatus()
        self.notice = Banner(self.tr("Notice"))
        self.notice.action.connect(self.notice.hide)
        self.chat = ChatView()
        self.users = UsersPanel()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.chat)
        self.splitter.addWidget(self.users)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([640, 220])
        self.calls = CallBar()
        self.announcer = Announcer(self)
        self.moderation = Moderation(bridge, self)
        self.users.menu_extras = self.moderation.add_actions
        self.room_menu = QMenu(self)
        self.room_menu.aboutToShow.connect(self._fill_room_menu)
        self.moderate = QToolButton()
        self.moderate.setText(self.tr("Moderate ▾"))
        self.moderate.setStyleSheet("QToolButton::menu-indicator { image: none; }")  # the ▾ says it
        self.moderate.setAccessibleName(self.tr("Moderate the room"))
        self.moderate.setToolTip(self.tr("Lock or unlock the room (you joined as a moderator)"))
        self.moderate.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.moderate.setMenu(self.room_menu)
        self.moderate.hide()
        self._people_wanted = True
        self._narrow = False

        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.server, 1, Qt.AlignmentFlag.AlignBaseline)
        header.addWidget(self.moderate)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.addLayout(header)
        layout.addWidget(self.status)
        layout.addWidget(self.notice)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.calls)

        b = bridge
        b.joining.connect(self._joining)
        b.hosting.connect(lambda address: setattr(self, "_hosted_at", address))
        b.joined.connect(self._joined)
        b.peer_arrived.connect(self._arrived)
        b.peer_updated.connect(self.users.upsert)
        b.peer_departed.connect(self._departed)
        b.self_changed.connect(self._self_changed)
        b.chat_received.connect(self._chat)
        b.chat_queued.connect(self._queued)
        b.history_paged.connect(self._paged)
        b.connection_lost.connect(self.status.reconnecting)
        b.connection_failed.connect(lambda _code, message: self.status.failed(message))
        b.levels.connect(self._levels)
        b.call_stats.connect(self.users.set_call_stats)
        b.audio_failed.connect(lambda message: self._say(message, NoticeKind.WARN))
        b.server_error.connect(lambda message: self._say(message, NoticeKind.WARN))
        b.notice.connect(lambda message: self._say(message, NoticeKind.INFO))
        b.warning.connect(lambda message: self._say(message, NoticeKind.WARN))
        self.status.retry.connect(b.retry)
        self.chat.send_requested.connect(self._send)
        self.chat.older_wanted.connect(b.fetch_history)
        self.users.gain_changed.connect(self._gain_chosen)
        self.calls.voice_toggled.connect(b.set_voice)
        self.calls.mute_toggled.connect(b.set_muted)
        self.calls.deafen_toggled.connect(b.set_deafened)
        self.calls.people_toggled.connect(self._people_toggled)
        self.calls.show_settings(b.settings)

    def enter(self, room: str) -> None:
        """A fresh room: nothing of the previous one stays."""
        self.room_name = room
        server = urlsplit(self.bridge.server).netloc or self.bridge.server
        self.server_name = (
            self.tr("hosted here, others join at {address}").format(address=self._hosted_at)
            if self._hosted_at
            else server
        )
        self.title.setText(room)
        self.server.setText(self.tr("on {server}").format(server=self.server_name))
        self.server.setToolTip(style.plain_tooltip(self.bridge.server))
        self.chat.clear()
        self.status.fresh()
        self.notice.hide()
        self.chat.composer.setFocus()

    def _joining(self) -> None:
        self._hosted_at = ""
        self.users.forget_gains()

    def _joined(self, event: events.RoomJoined) -> None:
        me = self.bridge.me
        if me is None:
            return
        self.users.show_room(me, event.peers)
        for peer in event.peers:
            self._remembered_gain(peer)
        if self.prefs is not None:
            self.prefs.save_last_room(self.bridge.server, event.room)
        self.chat.set_own_name(me.username)
        self.calls.show_self(me)
        self.moderate.setVisible(self.bridge.is_moderator)
        self.status.connected()

    def _fill_room_menu(self) -> None:
        self.room_menu.clear()
        self.moderation.add_room_actions(self.room_menu)

    def _arrived(self, peer: Peer) -> None:
        self.users.upsert(peer)
        self._remembered_gain(peer)
        self.announcer.say(self.tr("{name} joined").format(name=tame(peer.username)))

    def _departed(self, peer_id: str) -> None:
        peer = self.users.peer(peer_id)
        self.users.remove(peer_id)
        if peer is not None:
            self.announcer.say(self.tr("{name} left").format(name=tame(peer.username)))

    def _remembered_gain(self, peer: Peer) -> None:
        gain = None if self.prefs is None else self.prefs.peer_gain(self.bridge.server, peer.username)
        if gain is not None:
            self.users.show_gain(peer.id, gain)
            self.bridge.set_peer_gain(peer.id, gain)

    def _gain_chosen(self, peer_id: str, gain: float) -> None:
        self.bridge.set_peer_gain(peer_id, gain)
        peer = self.users.peer(peer_id)
        if self.prefs is not None and peer is not None:
            self.prefs.save_peer_gain(self.bridge.server, peer.username, gain)

    def _self_changed(self, me: Peer) -> None:
        self.users.upsert(me)
        self.calls.show_self(me)

    def _paged(self, event: events.HistoryPaged) -> None:
        if event.error is not None:
            self.chat.older_unavailable(event.before, for_good=not event.more)
            return
        self.chat.add_older(event.before, [Line.delivered(r.chat, r.own) for r in event.chats], event.more)

    def _chat(self, event: events.ChatReceived) -> None:
        c = event.chat
        self.chat.add_chat(c.id, c.username, c.text, c.ts, event.own, c.nonce, defer=event.from_history)
        if not (event.own or event.from_history):
            self.announcer.say(
                self.tr("{name} says: {text}").format(name=tame(c.username), text=tame(c.text)), message=True
            )

    def _queued(self, nonce: str, text: str) -> None:
        me = self.bridge.me
        self.chat.add_pending(nonce, me.username if me else "", text)

    def _send(self, text: str) -> None:
        try:
            self.bridge.send_chat(text)
        except ValueError as exc:
            self._say(self.tr("Not sent: {reason}").format(reason=exc), NoticeKind.WARN)

    def _say(self, message: str, kind: NoticeKind) -> None:
        """A notice above the chat that the person dismisses."""
        self.notice.say(message, kind, self.tr("Dismiss"))

    def _levels(self, event: events.LevelsChanged) -> None:
        self.users.set_levels(event.transmitting, event.peers)
        self.calls.meter.set_level(event.input_dbfs, event.transmitting)

    def _people_toggled(self, on: bool) -> None:
        self._people_wanted = on or self._narrow  # on a narrow window, hiding by hand is not "unwanted"
        self.users.setVisible(on)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        """Fold the people panel when the window gets narrow; unfold when it widens again."""
        super().resizeEvent(event)
        narrow = event.size().width() < NARROW_PX
        if narrow != self._narrow:
            self._narrow = narrow
            self.users.setVisible(self._people_wanted and not narrow)
            self.calls.set_compact(narrow)
            self.calls.people.blockSignals(True)
            self.calls.people.setChecked(not self.users.isHidden())
            self.calls.people.blockSignals(False)


def _plain_label(name: str, accessible: str) -> QLabel:
    """A label for a string from the network or the user: plain text, never markup; cut, not
    widening the window, when too long."""
    label = QLabel()
    label.setObjectName(name)
    label.setAccessibleName(accessible)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label
