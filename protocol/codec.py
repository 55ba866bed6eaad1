"""Decode any text into a typed v1 message or a precise error; encode one.

No I/O: the transports hand text in and send the bytes out. Decoders are
built once, since msgspec compiles a decoder per type.
"""

from typing import Any

import msgspec

from .errors import ErrorCode, ProtocolError
from .messages import ClientMessage, ServerMessage

_client_decoder: msgspec.json.Decoder[ClientMessage] = msgspec.json.Decoder(ClientMessage)
_server_decoder: msgspec.json.Decoder[ServerMessage] = msgspec.json.Decoder(ServerMessage)
_loose_decoder = msgspec.json.Decoder(Any)
_encoder = msgspec.json.Encoder()
# RecursionError: a few KiB of ``[[[[...`` nest deeper than msgspec recurses.
_DECODE_ERRORS = (msgspec.DecodeError, UnicodeError, ValueError, RecursionError)


def decode_client(data: str | bytes) -> ClientMessage:
    """Parse one client message; raise ``ProtocolError(bad-message)`` with a reason."""
    try:
        return _client_decoder.decode(data)
    except _DECODE_ERRORS as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, _reason(exc), _readable_type(data)) from None


def decode_server(data: str | bytes) -> ServerMessage:
    """Parse one server message (the client side of the codec)."""
    try:
        return _server_decoder.decode(data)
    except _DECODE_ERRORS as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, _reason(exc), _readable_type(data)) from None


def encode(message: msgspec.Struct) -> bytes:
    """Compact UTF-8 JSON of one message, ready to send as a text frame."""
    return _encoder.encode(message)


def _reason(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "JSON is nested too deeply"
    text = str(exc)
    if isinstance(exc, msgspec.ValidationError) and "Object missing required field `type`" in text:
        return "message has no `type`"
    return text or type(exc).__name__


def _readable_type(data: str | bytes) -> str | None:
    """The message's ``type`` when it is readable, for the error's ``ref``."""
    try:
        loose = _loose_decoder.decode(data)
    except _DECODE_ERRORS:
        return None
    if isinstance(loose, dict):
        kind = loose.get("type")
        if isinstance(kind, str):
            return kind
    return None
