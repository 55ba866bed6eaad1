"""The login form: where to connect and as whom, checked with the protocol's own rules.

It knows nothing of the engine: it validates, emits ``submitted`` with a
``JoinRequest`` and shows what the bridge reports back (a refusal in plain
words, the address others can use when hosting).
"""

from urllib.parse import urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from protocol import limits
from protocol.text import clean_username

from ..links import RoomLink, room_problem
from . import style
from .bridge import JoinRequest
from .preferences import LoginValues


def normalize_server(text: str) -> str:
    """Accept what people type (``host``, ``host:port``) and return a ``ws://`` URL, or raise."""
    text = text.strip()
    if not text:
        raise ValueError(f"Enter the server's address, e.g. 192.168.1.20:{limits.DEFAULT_PORT}.")
    bare = "://" not in text  # a bare host gets our default port; a full URL means its own
    if bare:
        text = f"ws://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"The address must look like host:port or ws://host:port{limits.WS_PATH}.")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("The port must be a number from 1 to 65535.") from None
    netloc = f"{parts.netloc}:{limits.DEFAULT_PORT}" if bare and port is None else parts.netloc
    return f"{parts.scheme}://{netloc}{parts.path or limits.WS_PATH}"


def username_problem(name: str) -> str | None:
    try:
        clean_username(name, limits.MAX_USERNAME_CHARS)
    except ValueError:
        return (
            f"Names are 1-{limits.MAX_USERNAME_CHARS} characters with at least one visible one, "
            "without control characters."
        )
    return None


class LoginView(QWidget):
    submitted = Signal(object)  # JoinRequest
    settings_requested = Signal()

    def __init__(self, values: LoginValues, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("login")
        self.server = self._field("Server address", values.server, f"e.g. 192.168.1.20:{limits.DEFAULT_PORT}")
        self.room = self._field("Room", values.room, "e.g. lobby")
        self.room.setMaxLength(limits.MAX_ROOM_CHARS)
        self.username = self._field("Your name", values.username, "How others will see you")
        self.password = self._field("Password", "", "Only if the server asks for one")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.host = QCheckBox("Host on this computer")
        self.host.setAccessibleName("Host on this computer")
        self.host.setToolTip("Start a server here; others connect to the address shown below")
        self.host.setChecked(values.host)
        self.host.toggled.connect(self._host_toggled)
        self.hosting = QLabel()
        self.hosting.setObjectName("hint")
        self.hosting.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hosting.setWordWrap(True)
        self.hosting.hide()
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Error")
        self.error.hide()
        self.join_button = QPushButton("Join room")
        self.join_button.setDefault(True)
        self.join_button.setAccessibleName("Join room")
        self.join_button.clicked.connect(self.submit)
        self.settings_button = QPushButton("Audio settings…")
        self.settings_button.setFlat(True)
        self.settings_button.setAccessibleName("Audio settings")
        self.settings_button.clicked.connect(self.settings_requested)

        title = QLabel("Voxroom")
        title.setObjectName("title")
        subtitle = QLabel("Join a voice room, or host one for your friends.")
        subtitle.setObjectName("hint")
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        form.setVerticalSpacing(6)
        form.addRow("&Server address", self.server)
        form.addRow(self.host)
        form.addRow(self.hosting)
        form.addRow("&Room", self.room)
        form.addRow("Your &name", self.username)
        form.addRow("&Password (optional)", self.password)

        card = QWidget()
        card.setObjectName("card")
        card.setMaximumWidth(420)
        box = QVBoxLayout(card)
        box.setContentsMargins(28, 24, 28, 24)
        box.setSpacing(12)
        box.addWidget(title)
        box.addWidget(subtitle)
        box.addLayout(form)
        box.addWidget(self.error)
        box.addWidget(self.join_button)
        box.addWidget(self.settings_button, 0, Qt.AlignmentFlag.AlignHCenter)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)
        self._host_toggled(values.host)
        self.setTabOrder(self.server, self.host)

    def _field(self, name: str, value: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit(value)
        edit.setAccessibleName(name)
        edit.setPlaceholderText(placeholder)
        edit.returnPressed.connect(self.submit)
        edit.textEdited.connect(lambda _text: self.error.hide())
        return edit

    def _host_toggled(self, on: bool) -> None:
        self.server.setEnabled(not on)
        self.hosting.setVisible(on)
        if on and not self.hosting.text():
            self.hosting.setText("A server will start on this computer when you join.")

    def fill_link(self, link: RoomLink) -> bool:
        """Take a link's server and room; ``True`` when nothing is missing to join (a name is known).

        The password is cleared, never carried over: it belonged to another server.
        """
        self.host.setChecked(False)
        self.server.setText(link.server_url)
        self.room.setText(link.room)
        self.password.clear()
        self.error.hide()
        if username_problem(self.username.text()):
            self.username.setFocus()
            return False
        self.password.setFocus()
        return True

    def values(self) -> LoginValues:
        return LoginValues(
            self.server.text().strip(), self.room.text().strip(), self.username.text(), self.host.isChecked()
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
        return JoinRequest(server, room, name, password, self.host.isChecked())

    def submit(self) -> None:
        if not self.join_button.isEnabled():
            return
        try:
            request = self.request()
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self.error.hide()
        self.submitted.emit(request)

    def set_busy(self, busy: bool) -> None:
        self.join_button.setEnabled(not busy)
        self.join_button.setText("Joining…" if busy else "Join room")

    def show_error(self, message: str) -> None:
        self.set_busy(False)
        self.error.setText(message)
        self.error.show()

    def show_hosting(self, address: str) -> None:
        self.hosting.setText(f"Hosting. Others can join at <b>{style.escape(address)}</b>")
        self.hosting.show()
