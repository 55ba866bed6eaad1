"""Opus through ctypes on libopus: the knobs aiortc does not expose.

aiortc's own encoder is fixed at 96 kbit/s stereo with no FEC and no bitrate
control, and it encodes once per peer. We encode once for the whole mesh, at
a bitrate we choose, with in-band FEC so a receiver can rebuild a lost frame
from the next packet; and we decode in our own playout buffer, which needs
``decode_fec`` and packet-loss concealment that PyAV does not offer.

Everything here is 48 kHz, 20 ms frames (960 samples), one channel out.
The decoder is created mono: libopus downmixes stereo packets (what stock
aiortc and browsers may send) by itself.

One instance is for one thread at a time; it holds native state, freed by
``close()`` or when the object is collected.

The library is the one PyAV's wheel ships (aiortc needs PyAV anyway, and
its wheels carry libopus on Linux, Windows and macOS), else the system's: so
neither the venv nor the frozen app needs the system package.

Errors: ``OpusError`` when libopus refuses (its own message, from
``opus_strerror``); ``OpusLibraryNotFoundError`` (an ``OpusError``) when no
libopus can be found or loaded; ``ValueError``/``TypeError`` for PCM of the
wrong shape or type, which is a bug in the caller rather than in the data.
"""

import ctypes
import ctypes.util
import functools
import importlib.util
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from .pcm import FRAME_SAMPLES, SAMPLE_RATE, Pcm

MAX_PACKET_BYTES: Final = 1275
"""The largest single Opus frame (RFC 6716 section 3.2.1)."""

_APPLICATION_VOIP: Final = 2048
_SET_BITRATE: Final = 4002
_GET_BITRATE: Final = 4003
_SET_VBR: Final = 4006
_SET_COMPLEXITY: Final = 4010
_SET_INBAND_FEC: Final = 4012
_GET_INBAND_FEC: Final = 4013
_SET_PACKET_LOSS_PERC: Final = 4014
_SET_DTX: Final = 4016
_RESET_STATE: Final = 4028
_MAX_FRAMES_PER_PACKET: Final = 48

PcmInput = npt.NDArray[np.int16] | npt.NDArray[np.float32]


class OpusError(Exception):
    """libopus refused a call; ``code`` is its (negative) error number, or 0 for our own checks."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class OpusLibraryNotFoundError(OpusError):
    """The shared library libopus is not installed."""


_PYAV_LIBRARIES: Final = (
    ("av.libs", "libopus*.so*"),
    ("av.libs", "*opus*.dll"),
    ("av/.dylibs", "libopus*.dylib"),
)
"""Where PyAV's wheels put their libopus (relative to site-packages, or to the frozen bundle):
auditwheel (Linux) and delvewheel (Windows) beside the package, delocate (macOS) inside it."""


def pyav_library() -> str | None:
    """The path of the libopus inside the installed ``av`` package, or None; ``av`` is not imported."""
    spec = importlib.util.find_spec("av")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations))).parent
    for folder, pattern in _PYAV_LIBRARIES:
        found = sorted((root / folder).glob(pattern))
        if found:
            return str(found[0])
    return None


def find_opus(name: str) -> str | None:
    """``find`` for ``load_library``: PyAV's libopus first, the system's (``ctypes.util``) as a fallback."""
    return pyav_library() or ctypes.util.find_library(name)


def load_library(find: Callable[[str], str | None] = find_opus) -> ctypes.CDLL:
    """Load libopus, located by ``find``, and declare the signatures we call.

    The module calls it once, on first use, with the default ``find``.
    Raises ``OpusLibraryNotFoundError``, naming the package to install.

    The ``*_ctl`` functions are variadic: only their two fixed parameters are
    declared, and the value is passed as an explicit ``c_int32`` (or a
    pointer). ctypes then prepares a variadic call (``ffi_prep_cif_var``),
    which matters on ABIs where variadic arguments travel differently
    (Apple arm64); declaring the value as a third fixed parameter would be
    wrong there even though it happens to work on x86-64.
    """
    name = find("opus")
    if name is None:
        raise OpusLibraryNotFoundError(
            "libopus not found: neither in PyAV (pip install av) nor on the system "
            "(Debian/Ubuntu: apt-get install libopus0)"
        )
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise OpusLibraryNotFoundError(
            f"cannot load {name} ({exc}); reinstall PyAV (pip install av), "
            "or on Debian/Ubuntu install libopus0"
        ) from exc
    c_int, c_int32, c_void_p, c_char_p = ctypes.c_int, ctypes.c_int32, ctypes.c_void_p, ctypes.c_char_p
    int_p = ctypes.POINTER(ctypes.c_int)
    lib.opus_strerror.argtypes, lib.opus_strerror.restype = [c_int], c_char_p
    lib.opus_encoder_create.argtypes = [c_int32, c_int, c_int, int_p]
    lib.opus_encoder_create.restype = c_void_p
    lib.opus_encoder_destroy.argtypes, lib.opus_encoder_destroy.restype = [c_void_p], None
    lib.opus_encoder_ctl.argtypes, lib.opus_encoder_ctl.restype = [c_void_p, c_int], c_int
    lib.opus_encode.argtypes = [c_void_p, c_void_p, c_int, c_void_p, c_int32]
    lib.opus_encode.restype = c_int32
    lib.opus_encode_float.argtypes = [c_void_p, c_void_p, c_int, c_void_p, c_int32]
    lib.opus_encode_float.restype = c_int32
    lib.opus_decoder_create.argtypes, lib.opus_decoder_create.restype = [c_int32, c_int, int_p], c_void_p
    lib.opus_decoder_destroy.argtypes, lib.opus_decoder_destroy.restype = [c_void_p], None
    lib.opus_decoder_ctl.argtypes, lib.opus_decoder_ctl.restype = [c_void_p, c_int], c_int
    lib.opus_decode.argtypes = [c_void_p, c_char_p, c_int32, c_void_p, c_int, c_int]
    lib.opus_decode.restype = c_int
    lib.opus_packet_get_nb_samples.argtypes = [c_char_p, c_int32, c_int32]
    lib.opus_packet_get_nb_samples.restype = c_int
    lib.opus_packet_get_samples_per_frame.argtypes = [c_char_p, c_int32]
    lib.opus_packet_get_samples_per_frame.restype = c_int
    lib.opus_packet_parse.argtypes = [c_char_p, c_int32, c_void_p, c_void_p, c_void_p, c_void_p]
    lib.opus_packet_parse.restype = c_int
    return lib


@functools.cache
def _lib() -> ctypes.CDLL:
    return load_library()


def _check(result: int, what: str) -> int:
    if result < 0:
        message = _lib().opus_strerror(result).decode("ascii", "replace")
        raise OpusError(f"{what}: {message}", result)
    return result


def packet_samples(packet: bytes) -> int:
    """Samples (at 48 kHz) a packet decodes to, read from its header; raises ``OpusError`` if malformed."""
    if not packet:
        raise OpusError("empty packet")
    return _check(int(_lib().opus_packet_get_nb_samples(packet, len(packet), SAMPLE_RATE)), "packet")


def packet_has_fec(packet: bytes) -> bool:
    """Whether a packet carries in-band FEC (LBRR) data for the frame before it.

    libopus 1.5 has ``opus_packet_has_lbrr``; the system's fallback may be
    older (Debian 12 ships 1.3.1), so this is the same reading done here: only
    SILK and hybrid frames carry LBRR, and its flag sits in the first
    range-coded bits of the first frame, after the VAD flag of each 20 ms SILK
    frame. A malformed packet has none.
    """
    if not packet or packet[0] & 0x80:  # empty, or CELT-only
        return False
    lib = _lib()
    frame_samples = int(lib.opus_packet_get_samples_per_frame(packet, SAMPLE_RATE))
    silk_frames = max(1, frame_samples // FRAME_SAMPLES)
    frames = (ctypes.c_void_p * _MAX_FRAMES_PER_PACKET)()
    sizes = (ctypes.c_int16 * _MAX_FRAMES_PER_PACKET)()
    count = int(lib.opus_packet_parse(packet, len(packet), None, frames, sizes, None))
    start = ctypes.cast(ctypes.c_char_p(packet), ctypes.c_void_p).value
    if count <= 0 or sizes[0] <= 0 or not frames[0] or start is None:
        return False
    offset = frames[0] - start  # frames[0] points into ``packet``: read it from Python, bounds-checked
    if not 0 <= offset < len(packet):
        return False
    first = packet[offset]
    lbrr = (first >> (7 - silk_frames)) & 1
    if packet[0] & 0x04:  # stereo: the side channel has its own flag
        lbrr |= (first >> (6 - 2 * silk_frames)) & 1
    return bool(lbrr)


class OpusEncoder:
    """Mono 48 kHz Opus in VOIP mode, VBR, with in-band FEC tuned by the expected loss.

    ``complexity`` defaults to 9, libopus's own default: we encode once for
    the whole mesh, so its cost is paid once, not per peer (the cost is in
    docs/benchmarks.md). FEC only reaches the packets when the expected loss
    is above 0 and libopus judges the bitrate sufficient, and SILK adds it
    only to frames it takes for active speech: too low a bitrate or
    expected loss, or a steady tone after a moment, and there is none at
    all (measured in docs/benchmarks.md). ``packet_has_fec`` tells.
    ``dtx`` (off by default): in silence the encoder returns 1-byte packets
    (a header only), which a sender may leave unsent; the playout buffer
    decodes them, or conceals and then fades out a gap where they are missing.
    """

    def __init__(
        self,
        bitrate_bps: int = 32_000,
        *,
        fec: bool = True,
        expected_loss_pct: int = 10,
        complexity: int = 9,
        dtx: bool = False,
    ) -> None:
        lib = _lib()
        error = ctypes.c_int(0)
        state = lib.opus_encoder_create(SAMPLE_RATE, 1, _APPLICATION_VOIP, ctypes.byref(error))
        _check(error.value, "opus_encoder_create")
        if not state:
            raise OpusError("opus_encoder_create returned no state")
        self._state: int | None = state
        self._finalizer = weakref.finalize(self, lib.opus_encoder_destroy, state)
        self._out = ctypes.create_string_buffer(MAX_PACKET_BYTES)
        self._ctl(_SET_VBR, 1, "VBR")
        self._ctl(_SET_COMPLEXITY, complexity, "complexity")
        self._ctl(_SET_INBAND_FEC, int(fec), "inband FEC")
        self._ctl(_SET_DTX, int(dtx), "DTX")
        self.set_expected_loss_pct(expected_loss_pct)
        self.set_bitrate(bitrate_bps)

    def _handle(self) -> int:
        if self._state is None:
            raise OpusError("encoder is closed")
        return self._state

    def _ctl(self, request: int, value: int, what: str) -> None:
        _check(int(_lib().opus_encoder_ctl(self._handle(), request, ctypes.c_int32(value))), f"set {what}")

    def _get(self, request: int, what: str) -> int:
        value = ctypes.c_int32(0)
        _check(int(_lib().opus_encoder_ctl(self._handle(), request, ctypes.byref(value))), f"get {what}")
        return value.value

    def set_bitrate(self, bitrate_bps: int) -> None:
        """Change the target bitrate, effective from the next frame; libopus clamps to 500..300000."""
        self._ctl(_SET_BITRATE, bitrate_bps, "bitrate")

    def set_expected_loss_pct(self, loss_pct: int) -> None:
        """Tell the encoder how lossy the path is (0..100): more loss, stronger FEC, fewer bits for now."""
        self._ctl(_SET_PACKET_LOSS_PERC, loss_pct, "packet loss percentage")

    @property
    def bitrate_bps(self) -> int:
        """The bitrate libopus is targeting (after its own clamping)."""
        return self._get(_GET_BITRATE, "bitrate")

    @property
    def fec(self) -> bool:
        return bool(self._get(_GET_INBAND_FEC, "inband FEC"))

    def encode(self, pcm: PcmInput) -> bytes:
        """One 20 ms packet from 960 mono samples.

        ``int16`` goes to ``opus_encode``; ``float32`` (nominal range -1..1)
        to ``opus_encode_float``, so a float pipeline need not convert.
        """
        if pcm.shape != (FRAME_SAMPLES,):
            raise ValueError(f"expected {FRAME_SAMPLES} mono samples, got shape {pcm.shape}")
        lib, state = _lib(), self._handle()
        if pcm.dtype == np.int16:
            encode = lib.opus_encode
        elif pcm.dtype == np.float32:
            encode = lib.opus_encode_float
        else:
            raise TypeError(f"expected int16 or float32 samples, got {pcm.dtype}")
        frame = np.ascontiguousarray(pcm)
        size = _check(
            int(encode(state, frame.ctypes.data, FRAME_SAMPLES, self._out, MAX_PACKET_BYTES)), "encode"
        )
        return ctypes.string_at(self._out, size)

    def close(self) -> None:
        """Free the native state now (idempotent); later calls raise ``OpusError``."""
        self._state = None
        self._finalizer()

    def __enter__(self) -> "OpusEncoder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OpusDecoder:
    """48 kHz mono output from 20 ms packets, mono or stereo; with FEC and concealment.

    Every method returns a new ``int16`` array of 960 samples and advances
    the decoder by 20 ms, so calls must follow the packet order: for a lost
    frame call ``decode_fec(next)`` (or ``conceal()``), then ``decode(next)``.
    """

    def __init__(self) -> None:
        lib = _lib()
        error = ctypes.c_int(0)
        state = lib.opus_decoder_create(SAMPLE_RATE, 1, ctypes.byref(error))
        _check(error.value, "opus_decoder_create")
        if not state:
            raise OpusError("opus_decoder_create returned no state")
        self._state: int | None = state
        self._finalizer = weakref.finalize(self, lib.opus_decoder_destroy, state)

    def _handle(self) -> int:
        if self._state is None:
            raise OpusError("decoder is closed")
        return self._state

    def _decode(self, data: bytes | None, fec: bool) -> Pcm:
        pcm = np.empty(FRAME_SAMPLES, dtype=np.int16)
        size = len(data) if data is not None else 0
        got = _check(
            int(_lib().opus_decode(self._handle(), data, size, pcm.ctypes.data, FRAME_SAMPLES, int(fec))),
            "decode",
        )
        if got != FRAME_SAMPLES:
            raise OpusError(f"decoded {got} samples, expected {FRAME_SAMPLES}")
        return pcm

    def decode(self, packet: bytes) -> Pcm:
        """Decode one 20 ms packet; any other duration is refused before it touches the state."""
        samples = packet_samples(packet)
        if samples != FRAME_SAMPLES:
            raise OpusError(f"packet holds {samples} samples, expected {FRAME_SAMPLES} (20 ms)")
        return self._decode(packet, fec=False)

    def decode_fec(self, next_packet: bytes) -> Pcm:
        """Rebuild the frame lost just before ``next_packet`` from its FEC data.

        The frame size must be exactly the lost frame's (20 ms): larger, and
        libopus would fill the rest with concealment. Without FEC data in
        ``next_packet`` (see ``packet_has_fec``) libopus conceals instead.
        ``next_packet`` must still be given to ``decode`` afterwards.
        """
        if not next_packet:
            raise OpusError("empty packet")
        return self._decode(next_packet, fec=True)

    def conceal(self) -> Pcm:
        """20 ms of packet-loss concealment, extrapolated from what came before."""
        return self._decode(None, fec=False)

    def reset(self) -> None:
        """Forget the stream so far, e.g. before resuming after an outage."""
        _check(int(_lib().opus_decoder_ctl(self._handle(), _RESET_STATE)), "reset")

    def close(self) -> None:
        """Free the native state now (idempotent); later calls raise ``OpusError``."""
        self._state = None
        self._finalizer()

    def __enter__(self) -> "OpusDecoder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
