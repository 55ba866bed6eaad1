"""One client's socket: websockets' sans-I/O ``ServerProtocol`` pumped by a bare ``asyncio.Protocol``.

Why not websockets' asyncio ``ServerConnection``: per connection it keeps a
handler task, an assembler with its queue, locks and futures, and the
handshake's request and response, ~3 KiB of an idle connection's ~6 KiB of
heap (docs/benchmarks.md). Here a connection is this object (slots only) and
its ``ServerProtocol``; messages go straight to the ``Site``'s callbacks, and
the server's own frames are written to the transport by ``transport.Relay``.

Reading is done in bites of ``read_bytes``: every byte fed to the protocol is
parsed into frames before any rule can drop them, so a stranger's (or a
flooder's) input is parsed 4 KiB at a time, with other connections served in
between, whatever size the event loop read at once.

Once open, the connection splits its input into whole frames itself and
hands the protocol one whole frame at a time, so its parser always stands
between frames. A frame of the one common kind (a final, masked text frame
with no reserved bits, within ``max_size``, as every signal and chat is) is
unmasked and handed on here: websockets' generator-based parser cost ~5 µs of
the ~25 µs of Python a relayed signal takes. Every other frame (control,
fragment, binary, anything malformed) goes through the protocol as before,
which answers or fails it by the RFC.
"""

import asyncio
from collections.abc import Sequence
from typing import Protocol as Interface

from websockets.frames import CloseCode, Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol

try:
    from websockets.speedups import apply_mask  # C: websockets' own frames use it when built
except ImportError:  # pragma: no cover - a wheel without its C extension
    from websockets.utils import apply_mask

CLOSE_TIMEOUT_S = 3.0
"""How long a closing handshake may take: a vanished peer must not hold its socket."""
PING_PAYLOAD = b"vx"
"""Our keep-alive pings all carry this: any pong answers the one outstanding ping."""
_TEXT_FIN = 0x81
"""The first byte of a final text frame with no reserved bits."""


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame: what a server sends (RFC 6455 5.2), without ``Frame``'s checks."""
    n = len(payload)
    if n < 126:
        return bytes((_TEXT_FIN, n)) + payload
    if n < 1 << 16:
        return bytes((_TEXT_FIN, 126)) + n.to_bytes(2, "big") + payload
    return bytes((_TEXT_FIN, 127)) + n.to_bytes(8, "big") + payload


class Site(Interface):
    """What a connection tells the server, and asks of it."""

    def http(self, request: Request, protocol: ServerProtocol) -> Response:
        """The response to the opening request: ``protocol.accept`` for a WebSocket, else plain HTTP."""

    def opened(self, connection: "Connection", request: Request) -> None:
        """The handshake succeeded: ``connection`` is OPEN (``request`` is dropped after this call)."""

    def received(self, connection: "Connection", data: str | bytes) -> None:
        """One whole message: ``str`` for text, ``bytes`` for binary."""

    def lost(self, connection: "Connection") -> None:
        """The socket is gone: called once for every connection ``made``."""

    def made(self, connection: "Connection") -> None:
        """A socket was accepted (no handshake yet)."""


class Connection(asyncio.Protocol):
    """A WebSocket server connection: bytes in, messages out, nothing held but what is unread.

    After each call that feeds ``protocol``, ``_pump`` hands its events to
    the site and writes what it has to send, as websockets' sans-I/O
    contract asks.
    """

    __slots__ = (
        "_binary",
        "_fragments",
        "_held",
        "_later",
        "_next_bite",
        "_paused",
        "_short",
        "_unread",
        "_whole",
        "conn",
        "ending",
        "open",
        "ping_sent",
        "protocol",
        "read_bytes",
        "site",
        "transport",
    )

    def __init__(self, site: Site, protocol: ServerProtocol, read_bytes: int) -> None:
        self.site = site
        self.protocol = protocol
        self.transport: asyncio.Transport | None = None
        self.conn = 0
        """The site's id for it, once opened."""
        self.read_bytes = read_bytes
        self.ending = False
        """Nothing more of it is handed to the site (the core closed it)."""
        self.open = False
        """The protocol is OPEN: messages may be written (kept after every call into it)."""
        self.ping_sent = 0.0
        """``loop.time()`` of the ping not yet answered, or 0."""
        self._unread = b""
        self._paused = False
        self._held: list[Frame] | None = None
        """Frames parsed before a pause, handed on when it ends."""
        self._fragments: list[bytes] | None = None
        self._binary = False
        self._later: asyncio.TimerHandle | None = None
        """The end of a pause, or the deadline of a closing handshake."""
        self._next_bite: asyncio.Handle | None = None
        self._whole = False
        """The protocol's parser stands between frames: ``_unread`` is split into whole frames here."""
        self._short = False
        """``_unread`` holds only the start of a frame: read on for the rest."""

    # --- asyncio.Protocol --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment] # uvloop's transports are no subclasses
        self.site.made(self)

    def data_received(self, data: bytes) -> None:
        self._unread = self._unread + data if self._unread else data
        if not self._paused and self._next_bite is None:
            self._feed()

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self._pump()
        return None  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        for handle in (self._later, self._next_bite):
            if handle is not None:
                handle.cancel()
        self._later = self._next_bite = None
        self.open = False
        self.protocol.receive_eof()  # idempotent: the protocol learns the socket is gone
        self.site.lost(self)

    # --- what the server does with it ----------------------------------------------

    def pause(self, seconds: float) -> None:
        """Read and hand on nothing for ``seconds``: the peer's kernel buffers fill, not our CPU."""
        if self.transport is None or self.ending:
            return
        self._paused = True
        self.transport.pause_reading()
        self._cancel_timers()
        self._later = asyncio.get_running_loop().call_later(seconds, self._resume)

    def close(self, code: CloseCode | int, reason: str) -> None:
        """Start the closing handshake; the socket is aborted if it is not over in ``CLOSE_TIMEOUT_S``.

        Reading goes on (the client's close frame must be read), but no
        message is handed on any more.
        """
        self.ending = True
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(code, reason)
            self._write()
        self._expect_close()
        if self._paused:
            self._paused, self._held = False, None
            self._feed_later()

    @property
    def backlog(self) -> int:
        """Bytes written but not yet taken by the kernel."""
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    def write(self, frames: list[bytes]) -> None:
        """Frames serialized elsewhere (one frame serves many connections), if the connection is open."""
        if self.open and self.transport is not None:
            if len(frames) == 1:
                self.transport.write(frames[0])  # asyncio's writelines joins them first anyway
            else:
                self.transport.writelines(frames)

    def ping(self, now: float) -> None:
        if self.protocol.state is State.OPEN:
            self.protocol.send_ping(PING_PAYLOAD)
            self.ping_sent = now
            self._write()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # --- the pump ------------------------------------------------------------------

    def _feed(self) -> None:
        """Parse one bite of what is unread; the next bite waits for the loop's next turn."""
        self._next_bite = None
        if self._whole:
            self._feed_frames()
            return
        data = self._unread
        bite = self.read_bytes
        if len(data) > bite:
            self.protocol.receive_data(data[:bite])
            self._unread = data[bite:]
        else:
            self.protocol.receive_data(data)
            self._unread = b""
        self._pump()
        if not self._paused:
            self._feed_later()

    def _feed_frames(self) -> None:
        """Whole frames from ``_unread``, a bite of them: the common kind here, the others by the protocol."""
        data, pos, end = self._unread, 0, len(self._unread)
        bite = self.read_bytes
        protocol = self.protocol
        limit = protocol.max_message_size
        self._short = False
        while pos < end and pos < bite and not self._paused:
            size, length = _frame_size(data, pos)
            if size == 0 or pos + size > end:
                if limit is not None and length > limit:  # never buffered here: the protocol refuses it
                    self._whole = False
                    protocol.receive_data(data[pos:])
                    pos = end
                    self._pump()
                    break
                self._short = True
                break
            if (
                data[pos] == _TEXT_FIN
                and data[pos + 1] & 0x80
                and (limit is None or length <= limit)
                and not self.ending
                and protocol.state is State.OPEN
                and protocol.current_size is None
            ):
                start = pos + size - length
                text = apply_mask(data[start : pos + size], data[start - 4 : start])
                pos += size
                self._text(text)
            else:
                protocol.receive_data(data[pos : pos + size])
                pos += size
                self._pump()
        self._unread = data[pos:]
        self._write()
        if not self._paused:
            self._feed_later()

    def _feed_later(self) -> None:
        """Read on: the next bite of what is unread in the next turn, or more from the socket."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self._unread and not self._short:
            transport.pause_reading()
            if self._next_bite is None:
                self._next_bite = asyncio.get_running_loop().call_soon(self._feed)
        elif not transport.is_reading():
            transport.resume_reading()

    def _resume(self) -> None:
        self._later = None
        self._paused = False
        held, self._held = self._held, None
        if held:
            self._handle(held)
        if not self._paused:
            self._feed_later()

    def _pump(self) -> None:
        """Hand the protocol's events on, then write what it has to send."""
        events = self.protocol.events_received()
        if events:
            self._handle(events)
        self._write()

    def _handle(self, events: Sequence[Request | Response | Frame]) -> None:
        for i, event in enumerate(events):
            if self._paused:
                self._held = [e for e in events[i:] if isinstance(e, Frame)]
                return
            if isinstance(event, Frame):
                self._frame(event)
            elif isinstance(event, Request):
                self._handshake(event)

    def _handshake(self, request: Request) -> None:
        protocol = self.protocol
        protocol.send_response(self.site.http(request, protocol))
        self._write()
        if protocol.state is State.OPEN:
            # the request's last byte: the parser starts on a frame (a client that sent
            # frames before our answer keeps the protocol's own parsing throughout)
            self._whole = not protocol.reader.buffer
            self.site.opened(self, request)

    def _frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.PONG:
            self.ping_sent = 0.0
            return
        if opcode is Opcode.CLOSE or opcode is Opcode.PING or self.ending:
            return  # the protocol answers these itself; an ending connection is not listened to
        if not frame.fin:
            if self._fragments is None:
                self._fragments, self._binary = [], opcode is Opcode.BINARY
            self._fragments.append(bytes(frame.data))
            return
        data, binary = bytes(frame.data), opcode is Opcode.BINARY  # parsed frames hold bytes: no copy
        if self._fragments is not None:  # the protocol checked that this is the last continuation
            data, binary = b"".join([*self._fragments, data]), self._binary
            self._fragments = None
        if binary:
            self.site.received(self, data)
            return
        self._text(data)

    def _text(self, data: bytes) -> None:
        try:
            text = data.decode()
        except UnicodeDecodeError:
            self.ending = True
            self.protocol.fail(CloseCode.INVALID_DATA, "invalid UTF-8")
            return
        self.site.received(self, text)

    def _write(self) -> None:
        self.open = self.protocol.state is State.OPEN
        transport = self.transport
        if transport is None:
            return
        for data in self.protocol.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():
                transport.write_eof()  # half-close: the client reads our close frame, then closes
                self._expect_close()
            else:
                transport.close()  # TLS cannot half-close

    def _expect_close(self) -> None:
        """The client should now close the socket: abort it if it has not within ``CLOSE_TIMEOUT_S``."""
        self._cancel_timers()
        if self.transport is not None and not self.transport.is_closing():
            self._later = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT_S, self.abort)

    def _cancel_timers(self) -> None:
        if self._later is not None:
            self._later.cancel()
            self._later = None


def _frame_size(data: bytes, pos: int) -> tuple[int, int]:
    """The size of the client frame at ``pos`` and of its payload; size 0 while its header is incomplete."""
    if len(data) - pos < 2:
        return 0, 0
    length = data[pos + 1] & 0x7F
    head = 2
    if length == 126:
        head = 4
        if len(data) - pos < head:
            return 0, 0
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
    elif length == 127:
        head = 10
        if len(data) - pos < head:
            return 0, 0
        length = int.from_bytes(data[pos + 2 : pos + 10], "big")
    if data[pos + 1] & 0x80:
        head += 4
    return head + length, length
