"""``voxroom``: the one place where Qt and asyncio meet.

qasync runs asyncio on Qt's event loop, so the engine (asyncio) and the
widgets (Qt) share one thread and never need locks. This module builds the
engine for the bridge (sound card, or a silent pacer with ``--no-audio``),
hosts the bundled server in-process when asked, and runs the window until
it closes. Flags pre-fill (``--join``: submit) the login form, for
shortcuts and for the end-to-end tests, which also use ``--test-driver``.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

import platformdirs
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from protocol import limits
from signaling_server.app import RunningServer
from signaling_server.app import start as start_server
from signaling_server.config import ServerConfig

from . import single_instance
from .engine import events
from .engine.devices import DeviceAudio, DeviceCheck, list_devices
from .engine.engine import AudioIO, AudioOptions, Engine
from .engine.media import Silence
from .engine.pacer import PacedAudio
from .engine.processing import VoiceProcessor
from .links import LinkError, RoomLink, parse_link
from .single_instance import Claim, Handoff, InstanceServer, NoAnswerError
from .ui import icons, style
from .ui.bridge import Bridge, JoinRequest
from .ui.driver import TestDriver
from .ui.preferences import LoginValues, Preferences
from .ui.status import NoticeKind
from .ui.window import MainWindow

log = logging.getLogger("voxroom.app")


def _device_names() -> tuple[list[str], list[str]]:
    devices = list_devices(rescan=True)
    return [d.name for d in devices if d.inputs], [d.name for d in devices if d.outputs]


class Host:
    """The bundled server, started on first use and kept until the app quits."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: RunningServer | None = None

    async def __call__(self) -> tuple[str, str]:
        if self.server is None:
            data_dir = Path(platformdirs.user_data_dir("voxroom")) / "server"
            config = ServerConfig(host="0.0.0.0", port=self.port, data_dir=data_dir, log_level="warning")  # noqa: S104
            self.server = await start_server(config)
        return self.server.url, f"{_lan_address()}:{self.server.port}"

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()


def _lan_address() -> str:
    """The address others on the network reach us at (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="voxroom", description="Voxroom: voice rooms with chat.")
    p.add_argument(
        "link",
        nargs="?",
        help="a voxroom://HOST:PORT/ROOM link to join (handed to Voxroom if it is already running)",
    )
    p.add_argument("--server", help="ws:// URL or host:port to fill in")
    p.add_argument("--room")
    p.add_argument("--username")
    p.add_argument("--password")
    p.add_argument("--host", action="store_true", help="host the room on this computer")
    p.add_argument(
        "--host-port",
        type=int,
        default=limits.DEFAULT_PORT,
        help=f"port when hosting (default {limits.DEFAULT_PORT})",
    )
    p.add_argument("--join", action="store_true", help="join at once with the values given")
    p.add_argument("--no-audio", action="store_true", help="no sound card: send silence, play nothing")
    p.add_argument("--test-driver", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--selftest", action="store_true", help="check this build off-screen and exit")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    return p.parse_args(argv)


class App:
    def __init__(self, qt: QApplication, args: argparse.Namespace, instance: InstanceServer | None) -> None:
        self.args = args
        self.loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self.host = Host(args.host_port)
        prefs = Preferences()
        check = None if args.no_audio else DeviceCheck()
        self.bridge = Bridge(self._make_engine, self._spawn, self.host, prefs.audio(), _device_names, check)
        remembered = prefs.login()
        values = LoginValues(
            args.server or remembered.server,
            args.room or remembered.room,
            args.username or remembered.username,
            args.host or remembered.host,
        )
        self.window = MainWindow(self.bridge, prefs, values)
        if args.password:
            self.window.login.password.setText(args.password)
        self.closed = self.loop.create_future()
        self.window.closed.connect(self._window_closed)
        self.driver = TestDriver(self.window, qt) if args.test_driver else None
        self.instance = instance
        if instance is not None:
            instance.received.connect(self._handed_off)

    def _window_closed(self) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def _make_engine(
        self, request: JoinRequest, options: AudioOptions, sink: events.EngineEventSink
    ) -> Engine:
        audio: AudioIO
        if self.args.no_audio:
            audio = PacedAudio(Silence())
        else:

            def failed(message: str, fallback: str) -> None:
                sink(events.AudioDeviceFailed(message, fallback))

            audio = DeviceAudio(
                failed,
                options.input_device or None,
                options.output_device or None,
                VoiceProcessor(options.processing),
            )
        return Engine(
            request.server,
            request.room,
            request.username,
            audio,
            sink,
            password=request.password,
            voice=request.voice,
            options=options,
        )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("background task failed", exc_info=exc)

    def _handed_off(self, message: Handoff) -> None:
        """Another launch: come to the front, and open its link if it brought one."""
        if message.activation_token:  # Qt's Wayland plugin reads (and clears) it when raising a window
            os.environ["XDG_ACTIVATION_TOKEN"] = message.activation_token
        window = self.window
        window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
        window.show()
        window.raise_()
        window.activateWindow()
        if message.link is not None:
            try:
                self.open_link(parse_link(message.link))
            except LinkError as exc:
                window.login.show_error(str(exc))

    def open_link(self, link: RoomLink) -> None:
        """Join the link's room; from inside another room, only fill the form: a click never drops a call."""
        window, login = self.window, self.window.login
        if self.bridge.in_room and window.room.room_name == link.room:
            return
        ready = login.fill_link(link)
        if self.bridge.in_room:
            window.room.notice.say(
                f"To join {link.room} from the link you opened, leave this room: the form has it filled in.",
                NoticeKind.INFO,
                "Dismiss",
            )
        elif ready:
            login.submit()

    async def run(self) -> None:
        self.window.show()
        if self.args.link is not None:
            self.open_link(parse_link(self.args.link))
        elif self.args.join:
            self.window.login.submit()
        await self.closed
        if self.instance is not None:
            self.instance.close()
        await self.bridge.shutdown()
        await self.host.close()


_EXAMPLE_URL = f"ws://HOST:{limits.DEFAULT_PORT}{limits.WS_PATH}"
NO_DISPLAY = f"""voxroom: no display found (DISPLAY and WAYLAND_DISPLAY are unset).
On a machine without a screen:
  - host rooms with the server:   ./dev server      (or: voxroom-server)
  - join from the command line:   voxroom-bot --server {_EXAMPLE_URL} --room R --username U
  - or run the app off-screen:    QT_QPA_PLATFORM=offscreen voxroom"""


def _has_display() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _claim(link: str | None) -> Claim:
    """Hand ``link`` to a running Voxroom, or hold the right to be the running one."""
    address = single_instance.Address.for_user(platformdirs.user_config_path("Voxroom"))
    return single_instance.claim(address, Handoff(link, os.environ.get("XDG_ACTIVATION_TOKEN")))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.selftest:
        from . import selftest

        return selftest.run()
    if args.link is not None:
        try:
            args.link = str(parse_link(args.link))
        except LinkError as exc:
            print(f"voxroom: {exc}", file=sys.stderr)
            return 2
    try:
        claim = _claim(args.link)
    except NoAnswerError as exc:
        print(f"voxroom: {exc}", file=sys.stderr)
        return 1
    if claim.handed:
        return 0
    if not _has_display():
        claim.release()
        print(NO_DISPLAY, file=sys.stderr)
        return 1
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    qt = QApplication(sys.argv[:1])
    qt.setOrganizationName("Voxroom")
    qt.setApplicationName("Voxroom")
    qt.setDesktopFileName("voxroom")
    qt.setQuitOnLastWindowClosed(False)  # the loop must outlive the window: we leave the room first
    style.apply(qt)
    qt.setWindowIcon(icons.app_icon())
    import qasync  # after PySide6: qasync 0.28.0 binds to the Qt already imported, else tries PyQt5 first

    loop = qasync.QEventLoop(qt)
    asyncio.set_event_loop(loop)

    instance = claim.serve(qt)  # once Qt is up; then a second launch finds us
    if instance is None:
        log.warning("cannot listen for other launches: a second one will start another app")

    async def run() -> None:
        await App(qt, args, instance).run()

    with contextlib.suppress(KeyboardInterrupt), loop:
        loop.run_until_complete(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
