"""The sound server's inputs and outputs, kept current by its events: the only module that imports pulsectl.

PortAudio (Debian's 19.6, ALSA host API) lists devices only when it is
initialized, and re-initializing it stops every open stream. PulseAudio
(or PipeWire's pulse server) lists its sinks and sources at any time and
says when one comes or goes, so devices are watched through it, with
``pulsectl`` (ctypes bindings of libpulse): a connection on its own thread
waits for sink, source and server events and lists them again. Streams are
still PortAudio's; ``devices`` routes them to a listed sink or source.
Without libpulse or a server there is no watch: the caller falls back to
PortAudio's own listing.
"""

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from .device_rules import DeviceList, labelled

log = logging.getLogger("voxroom.devices")

CONNECT_TIMEOUT_S = 5.0
LISTEN_S = 1.0
"""How long one wait for events lasts: the longest ``close`` leaves the thread running."""
NO_MONITOR = 0xFFFFFFFF
"""libpulse's PA_INVALID_INDEX: a source that monitors no sink (a microphone)."""

DevicesChanged = Callable[[DeviceList], None]


class DeviceWatch:
    """What the sound server offers now (``devices``), and a call to each subscriber when that changes.

    Subscribers are called on the event loop that started the watch.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.devices = DeviceList()
        self._loop = loop
        self._subscribers: list[DevicesChanged] = []
        self._closed = threading.Event()

    @classmethod
    async def start(cls) -> "DeviceWatch | None":
        """Connect and list; None (logged) without libpulse or a sound server that answers."""
        watch = cls(asyncio.get_running_loop())
        ready: asyncio.Future[DeviceList] = watch._loop.create_future()
        threading.Thread(target=watch._run, args=(ready,), name="voxroom-device-watch", daemon=True).start()
        try:
            await asyncio.wait_for(ready, CONNECT_TIMEOUT_S)
        except Exception as exc:
            watch.close()
            log.info(
                "no device watch through PulseAudio (%s): PortAudio's list is used", exc or type(exc).__name__
            )
            return None
        return watch

    def subscribe(self, on_change: DevicesChanged) -> Callable[[], None]:
        """Call ``on_change`` with each new list; returns what unsubscribes."""
        self._subscribers.append(on_change)
        return lambda: self._subscribers.remove(on_change) if on_change in self._subscribers else None

    def close(self) -> None:
        """Stop watching; the thread ends within ``LISTEN_S``."""
        self._closed.set()

    def _first(self, ready: "asyncio.Future[DeviceList]", devices: DeviceList) -> None:
        self.devices = devices
        if not ready.done():
            ready.set_result(devices)

    def _publish(self, devices: DeviceList) -> None:
        if devices == self.devices or self._closed.is_set():
            return
        self.devices = devices
        for on_change in list(self._subscribers):
            on_change(devices)

    def _post(self, call: Callable[..., None], *args: Any) -> None:
        """Run ``call`` on the loop, unless the watch was closed (the loop may be gone with it)."""
        if not self._closed.is_set():
            with contextlib.suppress(RuntimeError):  # closed between the check and the call
                self._loop.call_soon_threadsafe(call, *args)

    def _run(self, ready: "asyncio.Future[DeviceList]") -> None:
        """The watch's thread: connect, list, then list again after each sink, source or server event."""
        try:
            import pulsectl

            pulse = pulsectl.Pulse("voxroom-devices")
        except Exception as exc:  # no libpulse (OSError), no server (PulseError)
            self._post(_fail, ready, exc)
            return

        changed = False

        def on_event(event: Any) -> None:  # libpulse's callback: no pulse calls here
            nonlocal changed
            if event.facility == "server" or event.t in ("new", "remove"):
                changed = True
                raise pulsectl.PulseLoopStop

        with pulse:
            pulse.event_mask_set("sink", "source", "server")
            pulse.event_callback_set(on_event)
            try:
                devices = _listing(pulse)
                self._post(self._first, ready, devices)
                while not self._closed.is_set():
                    if changed:
                        changed = False  # an event while listing lists again
                        self._post(self._publish, _listing(pulse))
                    pulse.event_listen(timeout=LISTEN_S)
            except Exception as exc:  # the server went away: the last list stays
                self._post(_fail, ready, exc)
                if not self._closed.is_set():
                    log.warning("the device watch stopped: %s", exc or type(exc).__name__)


def _listing(pulse: Any) -> DeviceList:
    """Sinks as outputs; sources as inputs, microphones before the monitors of sinks."""
    sources = sorted(pulse.source_list(), key=lambda s: s.monitor_of_sink != NO_MONITOR)
    return DeviceList(
        labelled((s.name, s.description) for s in sources),
        labelled((s.name, s.description) for s in pulse.sink_list()),
    )


def _fail(ready: "asyncio.Future[DeviceList]", exc: BaseException) -> None:
    if not ready.done():
        ready.set_exception(exc)
