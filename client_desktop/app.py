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
import sys
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

import platformdirs
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from protocol import limits

from . import single_instance
from .engine import events
from .engine.device_rules import DeviceList
from .engine.device_watch import DeviceWatch
from .engine.shapes import AudioOptions
from .hosting import Host, HostChoice, network_addresses
from .links import LinkError, parse_link
from .single_instance import Claim, Handoff, InstanceServer, NoAnswerError
from .ui import i18n, icons, style
from .ui.bridge import Bridge, JoinRequest
from .ui.invite import InviteNotice
from .ui.link_opener import bring_to_front, open_link
from .ui.notify import MentionNotifier
from .ui.preferences import LoginValues, Preferences
from .ui.tray import Tray
from .ui.window import MainWindow

if TYPE_CHECKING:  # the call stack loads after the window is up (_load_engine), not at start; the
    # test driver only with --test-driver
    from .engine.devices import DeviceCheck
    from .engine.engine import Engine
    from .ui.driver import TestDriver

log = logging.getLogger("voxroom.app")


def _load_engine() -> None:
    """Import the call stack (numpy, PyAV, aiortc, livekit, sounddevice, websockets).

    Half the start-up time went here, and the login window needs none of it:
    a thread runs this once the window is painted, so Join finds it loaded.
    """
    try:
        from .engine import devices, engine, media, pacer, processing  # noqa: F401
    except ImportError:  # Join imports it again and shows the user what is missing
        log.warning("cannot load the call engine", exc_info=True)


class _AfterFirstPaint(QObject):
    """Run ``then`` once ``widget`` has been painted and that round of events is over."""

    def __init__(self, widget: QWidget, then: Callable[[], None]) -> None:
        super().__init__(widget)
        self._then = then
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._then)
        return False


def _device_names() -> DeviceList:
    """PortAudio's devices, where PulseAudio cannot be watched."""
    from .engine.devices import device_names

    return device_names()


class _DeviceCheckOnUse:
    """``DeviceCheck``, made at its first use: the start does not load sounddevice and numpy for it."""

    def __init__(self) -> None:
        self._check: DeviceCheck | None = None

    def _made(self) -> "DeviceCheck":
        if self._check is None:
            from .engine.devices import DeviceCheck

            self._check = DeviceCheck()
        return self._check

    async def play_tone(self, output_device: str) -> None:
        await self._made().play_tone(output_device)

    async def start_meter(self, input_device: str, on_level: Callable[[float], None]) -> None:
        await self._made().start_meter(input_device, on_level)

    async def stop_meter(self) -> None:
        if self._check is not None:
            await self._check.stop_meter()


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
        "--host-network",
        action="store_true",
        help="when hosting, let others on the network join (default: this computer only)",
    )
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
    def __init__(self, qt: QApplication, args: argparse.Namespace, claim: Claim) -> None:
        self.args = args
        self.loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self.host = Host(args.host_port, self._host_choice)
        prefs = Preferences()
        check = None if args.no_audio else _DeviceCheckOnUse()
        self.devices: DeviceWatch | None = None
        """The sound server's devices as they come and go (started in ``run``; None without PulseAudio)."""
        self.bridge = Bridge(self._make_engine, self._spawn, self.host, prefs.audio(), self._devices, check)
        remembered = prefs.login()
        values = LoginValues(
            args.server or remembered.server,
            args.room or remembered.room,
            args.username or remembered.username,
            args.host or remembered.host,
            args.host_network or remembered.host_network,
        )
        self.window = MainWindow(self.bridge, prefs, values)
        self.window.login.set_hosting(args.host_port, network_addresses)
        self.invite = InviteNotice(self.window, self.bridge)
        self.tray = Tray(self.window)
        self.mentions = MentionNotifier(
            self.bridge, self.window, self.tray.icon if self.tray.available else None
        )
        if args.password:
            self.window.login.password.setText(args.password)
        self.closed = self.loop.create_future()
        self.window.closed.connect(self._window_closed)
        self.driver: TestDriver | None = None
        if args.test_driver:  # tests' remote control only: not imported otherwise
            from .ui import driver

            self.driver = driver.TestDriver(self.window, qt)
        self._claim = claim
        self.instance: InstanceServer | None = None
        """Other launches' hand-offs, once the window is painted (``_window_shown``)."""

    def _host_choice(self) -> HostChoice:
        return self.window.login.hosting_choice()

    def _window_closed(self) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def _make_engine(
        self, request: JoinRequest, options: AudioOptions, sink: events.EngineEventSink
    ) -> "Engine":
        from .engine.devices import DeviceAudio
        from .engine.engine import AudioIO, Engine
        from .engine.media import Silence
        from .engine.pacer import PacedAudio
        from .engine.processing import VoiceProcessor

        audio: AudioIO
        if self.args.no_audio:
            audio = PacedAudio(Silence())
        else:
            audio = DeviceAudio(
                sink,
                options.input_device or None,
                options.output_device or None,
                VoiceProcessor(options.processing),
                watch=self.devices,
            )
        return Engine(
            request.server,
            request.room,
            request.username,
            audio,
            sink,
            password=request.password,
            admin_password=request.admin_password,
            room_password=request.room_password,
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
        bring_to_front(self.window, message.activation_token)
        if message.link is not None:
            try:
                open_link(self.window, parse_link(message.link))
            except LinkError as exc:
                self.window.login.show_error(str(exc))

    def _window_shown(self) -> None:
        """Load what the login window needs none of: the call stack on a thread, and on this one, once
        this round of events is over, the listener for other launches (QtNetwork; they wait on the
        claim's lock until then) and the desktop's notification server (jeepney, a D-Bus handshake)."""
        threading.Thread(target=_load_engine, name="load-engine").start()
        QTimer.singleShot(0, self._listen_for_launches)
        QTimer.singleShot(0, self.mentions.reach_desktop)

    def _listen_for_launches(self) -> None:
        self.instance = self._claim.serve(QApplication.instance())
        if self.instance is None:
            log.warning("cannot listen for other launches: a second one will start another app")
        else:
            self.instance.received.connect(self._handed_off)

    def _devices(self) -> DeviceList:
        return self.devices.devices if self.devices is not None else _device_names()

    async def _watch_devices(self) -> None:
        self.devices = await DeviceWatch.start()
        if self.devices is not None:
            self.devices.subscribe(self.bridge.devices_changed.emit)

    async def run(self) -> None:
        if not self.args.no_audio:
            self._spawn(self._watch_devices())
        _AfterFirstPaint(self.window, self._window_shown)
        self.window.show()
        if self.args.link is not None:
            open_link(self.window, parse_link(self.args.link))
        elif self.args.join:
            self.window.login.submit()
        await self.closed
        if self.instance is not None:
            self.instance.close()
        await self.bridge.shutdown()
        if self.devices is not None:
            self.devices.close()
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
    i18n.install(qt, Preferences().language())
    qt.setWindowIcon(icons.app_icon())
    import qasync  # after PySide6: qasync 0.28.0 binds to the Qt already imported, else tries PyQt5 first

    loop = qasync.QEventLoop(qt)
    asyncio.set_event_loop(loop)

    async def run() -> None:
        await App(qt, args, claim).run()

    with contextlib.suppress(KeyboardInterrupt), loop:
        loop.run_until_complete(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
