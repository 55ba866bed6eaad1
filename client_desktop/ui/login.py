"""The login form: where to connect and as whom, checked with the protocol's own rules.

It knows nothing of the engine: it validates, emits ``submitted`` with a
``JoinRequest`` and shows what the bridge reports back (a refusal in plain
words, the address others can use when hosting). "Advanced" folds away the
two passwords few people need: the server's admin password (moderators)
and a locked room's password. Neither is ever remembered, and both are
cleared when a link brings another server.
"""

from collections.abc import Callable
from urllib.parse import urlsplit

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from protocol import limits
from protocol.text import clean_username

from ..hosting import HostChoice, HostScope, make_password
from ..links import RoomLink, room_problem
from .bridge import JoinRequest
from .hosting_box import HostingBox
from .preferences import LoginValues

CARD_MAX_PX = 460
GROUP_GAP_PX = 10
EXAMPLE_SERVER = f"192.168.1.20:{limits.DEFAULT_PORT}"


def normalize_server(text: str) -> str:
    """Accept what people type (``host``, ``host:port``) and return a ``ws://`` URL, or raise."""
    text = text.strip()
    if not text:
        raise ValueError(
            QCoreApplication.translate("LoginView", "Enter the server's address, e.g. {example}.").format(
                example=EXAMPLE_SERVER
            )
        )
    bare = "://" not in text  # a bare host gets our default port; a full URL means its own
    if bare:
        text = f"ws://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(
            QCoreApplication.translate(
                "LoginView", "The address must look like host:port or ws://host:port{path}."
            ).format(path=limits.WS_PATH)
        )
    try:
        port = parts.port
    except ValueError:
        raise ValueError(
            QCoreApplication.translate("LoginView", "The port must be a number from 1 to 65535.")
        ) from None
    netloc = f"{parts.netloc}:{limits.DEFAULT_PORT}" if bare and port is None else parts.netloc
    return f"{parts.scheme}://{netloc}{parts.path or limits.WS_PATH}"


def username_problem(name: str) -> str | None:
    try:
        clean_username(name, limits.MAX_USERNAME_CHARS)
    except ValueError:
        return QCoreApplication.translate(
            "LoginView",
            "Names are 1-{most} characters with at least one visible one, without control characters.",
        ).format(most=limits.MAX_USERNAME_CHARS)
    return None


class LoginView(QWidget):
    submitted = Signal(object)  # JoinRequest
    settings_requested = Signal()

    def __init__(self, values: LoginValues, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("login")
        self.server = self._field(
            self.tr("Server address"), values.server, self.tr("e.g. {example}").format(example=EXAMPLE_SERVER)
        )
        self.room = self._field(self.tr("Room"), values.room, self.tr("e.g. lobby"))
        self.room.setMaxLength(limits.MAX_ROOM_CHARS)
        self.username = self._field(self.tr("Your name"), values.username, self.tr("How others will see you"))
        self.password = self._field(self.tr("Password"), "", "")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.made_password: str | None = None
        """The password this form made for a room on the network, until the host types another."""
        self.password.textEdited.connect(self._password_typed)
        self.admin_password = self._field(
            self.tr("Admin password"), "", self.tr("Only if you moderate this server")
        )
        self.admin_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.room_password = self._field(
            self.tr("Room password"), "", self.tr("Only if a moderator locked the room with one")
        )
        self.room_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.advanced = QToolButton()
        self.advanced.setText(self.tr("Advanced"))
        self.advanced.setAccessibleName(self.tr("Advanced: admin and room passwords"))
        self.advanced.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced.setAutoRaise(True)
        self.advanced_box = QWidget()
        self.advanced.clicked.connect(lambda: self.show_advanced(self.advanced_box.isHidden()))
        self.host = QCheckBox(self.tr("Host on this computer"))
        self.host.setAccessibleName(self.host.text())
        self.host.setToolTip(self.tr("Start a server here and join it; choose below who else can reach it"))
        self.host.setChecked(values.host)
        self.host.toggled.connect(self._host_toggled)
        self.hosting_box = HostingBox()
        self.hosting_box.set_scope(HostScope.NETWORK if values.host_network else HostScope.THIS_COMPUTER)
        self.hosting_box.scope_changed.connect(self._scope_changed)
        self.hosting = self.hosting_box.status
        self.room.textChanged.connect(self.hosting_box.set_room)
        self.hosting_box.set_room(values.room)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setAccessibleName(self.tr("Error"))
        self.error.hide()
        self.join_button = QPushButton(self.tr("Join room"))
        self.join_button.setDefault(True)
        self.join_button.setAccessibleName(self.join_button.text())
        self.join_button.clicked.connect(self.submit)
        self.settings_button = QPushButton(self.tr("Audio settings…"))
        self.settings_button.setFlat(True)
        self.settings_button.setAccessibleName(self.tr("Audio settings"))
        self.settings_button.clicked.connect(self.settings_requested)

        title = QLabel("Voxroom")
        title.setObjectName("title")
        subtitle = QLabel(self.tr("Join a voice room, or host one for your friends."))
        subtitle.setObjectName("hint")
        subtitle.setWordWrap(True)
        self.password_label = QLabel()
        card = QWidget()
        card.setObjectName("card")
        card.setMaximumWidth(CARD_MAX_PX)
        box = QVBoxLayout(card)
        box.setContentsMargins(28, 24, 28, 24)
        box.setSpacing(4)
        box.addWidget(title)
        box.addWidget(subtitle)
        box.addSpacing(GROUP_GAP_PX)
        self._labelled(box, self.tr("&Server address"), self.server)
        box.addWidget(self.host)
        box.addWidget(self.hosting_box)
        self._labelled(box, self.tr("&Room"), self.room)
        self._labelled(box, self.tr("Your &name"), self.username)
        self._labelled(box, self.password_label, self.password)
        box.addWidget(self.advanced, 0, Qt.AlignmentFlag.AlignLeft)
        advanced = QVBoxLayout(self.advanced_box)
        advanced.setContentsMargins(0, 0, 0, 0)
        advanced.setSpacing(box.spacing())
        self._labelled(advanced, self.tr("A&dmin password"), self.admin_password)
        self._labelled(advanced, self.tr("Roo&m password"), self.room_password)
        box.addWidget(self.advanced_box)
        self.show_advanced(False)
        box.addSpacing(GROUP_GAP_PX)
        box.addWidget(self.error)
        box.addWidget(self.join_button)
        box.addWidget(self.settings_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self._card = card

        # centred while it fits, scrolled when the window is smaller than the form: never clipped
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 100)
        row.addStretch(1)
        page = QWidget()
        page.setObjectName("loginPage")
        column = QVBoxLayout(page)
        column.addStretch(1)
        column.addLayout(row)
        column.addStretch(2)
        scroll = QScrollArea()
        scroll.setObjectName("loginScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no Tab stop of its own: it follows the focused field
        scroll.setWidget(page)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self._host_toggled(values.host)
        self.setTabOrder(self.server, self.host)

    def _field(self, name: str, value: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit(value)
        edit.setAccessibleName(name)
        edit.setPlaceholderText(placeholder)
        edit.returnPressed.connect(self.submit)
        edit.textEdited.connect(lambda _text: self.error.hide())
        return edit

    def _labelled(self, box: QVBoxLayout, label: str | QLabel, field: QLineEdit) -> None:
        """A field under its label (the mnemonic focuses the field), a gap before the next one."""
        caption = label if isinstance(label, QLabel) else QLabel(label)
        caption.setBuddy(field)
        box.addSpacing(GROUP_GAP_PX - box.spacing())
        box.addWidget(caption)
        box.addWidget(field)

    def show_advanced(self, shown: bool) -> None:
        self.advanced_box.setVisible(shown)
        self.advanced.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def set_hosting(self, port: int, read_addresses: Callable[[], list[str]]) -> None:
        """Where hosting listens and how to read this machine's addresses (the app knows, the form shows)."""
        self.hosting_box.configure(port, read_addresses)

    def hosting_choice(self) -> HostChoice:
        """What the hosted server should do, as the form says now (read when it starts)."""
        return HostChoice(self.hosting_box.scope(), self.password.text() or None)

    def _host_toggled(self, on: bool) -> None:
        self.server.setEnabled(not on)
        self.hosting_box.setVisible(on)
        if on:
            self.hosting_box.refresh()
        self._scope_changed(self.hosting_box.scope())

    def _password_typed(self, _text: str) -> None:
        self.made_password = None

    def _guarded(self) -> bool:
        """Hosting for the network: then the room must have a password."""
        return self.host.isChecked() and self.hosting_box.scope() is HostScope.NETWORK

    def _scope_changed(self, _scope: HostScope) -> None:
        guarded = self._guarded()
        self.password_label.setText(
            self.tr("&Password for your guests") if guarded else self.tr("&Password (optional)")
        )
        self.password.setPlaceholderText(
            self.tr("Leave empty to get one made for you")
            if guarded
            else self.tr("Others on this computer must type it")
            if self.host.isChecked()
            else self.tr("Only if the server asks for one")
        )

    def fill_link(self, link: RoomLink) -> bool:
        """Take a link's server and room; ``True`` when nothing is missing to join (a name is known).

        The password is cleared, never carried over: it belonged to another server.
        """
        self.host.setChecked(False)
        self.server.setText(link.server_url)
        self.room.setText(link.room)
        self.password.clear()
        self.admin_password.clear()
        self.room_password.clear()
        self.error.hide()
        if username_problem(self.username.text()):
            self.username.setFocus()
            return False
        self.password.setFocus()
        return True

    def values(self) -> LoginValues:
        return LoginValues(
            self.server.text().strip(),
            self.room.text().strip(),
            self.username.text(),
            self.host.isChecked(),
            self.hosting_box.scope() is HostScope.NETWORK,
        )

    def request(self) -> JoinRequest:
        """The form as a ``JoinRequest``, or ``ValueError`` with the first problem, said plainly."""
        server = "" if self.host.isChecked() else normalize_server(self.server.text())
        room = self.room.text().strip()
        if problem := room_problem(room):
            raise ValueError(problem)
        name = self.username.text()
        if problem := username_problem(name):
            raise ValueError(problem)
        name = clean_username(name, limits.MAX_USERNAME_CHARS)
        password = self.password.text() or None
        return JoinRequest(
            server,
            room,
            name,
            password,
            self.host.isChecked(),
            admin_password=self.admin_password.text() or None,
            room_password=self.room_password.text() or None,
        )

    def submit(self) -> None:
        if not self.join_button.isEnabled():
            return
        if (
            self.host.isChecked()
            and self.hosting_box.scope() is HostScope.NETWORK
            and not self.password.text()
        ):
            self._make_password()
        try:
            request = self.request()
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.error.hide()
        self.submitted.emit(request)

    def set_busy(self, busy: bool) -> None:
        self.join_button.setEnabled(not busy)
        self.join_button.setText(self.tr("Joining…") if busy else self.tr("Join room"))

    def show_error(self, message: str) -> None:
        self.set_busy(False)
        self.error.setText(message)
        self.error.show()

    def _make_password(self) -> None:
        """A room on the network never goes without a password: make one and show it to pass on."""
        made = self.made_password = make_password()
        self.password.setText(made)
        self.hosting.setText(
            self.tr("Your guests need the password {password} (it is not in the link).").format(password=made)
        )

    def show_hosting(self, address: str) -> None:
        """The server runs: where others join (the invite above says it as a link)."""
        if self.hosting_box.scope() is HostScope.THIS_COMPUTER:
            said = self.tr("Hosting at {address}, for this computer only.").format(address=address)
        else:
            said = self.tr("Hosting. Others can join at {address}.").format(address=address)
        if self.made_password:
            said += " " + self.tr("Your guests need the password {password}.").format(
                password=self.made_password
            )
        self.hosting.setText(said)
        self.hosting_box.show()
