"""The ``signal`` payloads of rule 3: what peers say to set up a call.

The server relays a payload without reading it; the peers agree on these
four kinds. Decoding is validation, as for the messages: a payload either
becomes one of these values or says what is wrong with it.
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

Sdp = Annotated[str, Meta(min_length=1)]


class SignalKind(StrEnum):
    OFFER = "offer"
    ANSWER = "answer"
    CANDIDATE = "candidate"
    BYE = "bye"


class _Signal(msgspec.Struct, tag_field="kind", frozen=True, kw_only=True):
    """Base: a JSON object whose ``kind`` names it."""


class Offer(_Signal, tag=SignalKind.OFFER.value, frozen=True):
    sdp: Sdp
    """Complete: every candidate and ``a=end-of-candidates``."""


class Answer(_Signal, tag=SignalKind.ANSWER.value, frozen=True):
    sdp: Sdp


class Candidate(
    _Signal,
    tag=SignalKind.CANDIDATE.value,
    frozen=True,
    rename={"sdp_mid": "sdpMid", "sdp_mline_index": "sdpMLineIndex"},
    omit_defaults=True,
):
    candidate: str
    """``candidate:…``; empty means the end of candidates."""
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None


class Bye(_Signal, tag=SignalKind.BYE.value, frozen=True):
    """The sender left the call with us (its voice is off, or it is not in the call)."""


Signal = Offer | Answer | Candidate | Bye
_KINDS = frozenset(kind.value for kind in SignalKind)


class SignalError(ValueError):
    """A payload of a known kind that breaks its rules."""


def decode_signal(payload: Mapping[str, object]) -> Signal | None:
    """The signal in ``payload``; None for a kind this version does not know.

    Raises:
        SignalError: a known kind with missing or malformed fields.
    """
    if payload.get("kind") not in _KINDS:
        return None
    try:
        signal: Signal = msgspec.convert(payload, Signal)
    except msgspec.ValidationError as exc:
        raise SignalError(f"malformed {payload['kind']} signal: {exc}") from exc
    return signal


def signal_payload(signal: Signal) -> dict[str, object]:
    """The JSON object to put in a ``signal`` message's ``payload``."""
    payload = msgspec.to_builtins(signal)
    assert isinstance(payload, dict)
    return payload
