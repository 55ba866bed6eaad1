"""Unit tests of the ``protocol`` package against shared/protocol-v1.md.

Messages are written as JSON text (``json.dumps`` of plain dicts) so the tests
check the wire format, not the codec agreeing with itself.
"""

import json
import unicodedata
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.frames import CloseCode

from protocol import (
    AppCloseCode,
    Ban,
    ChatPosted,
    ClientMessage,
    ErrorCode,
    ErrorReported,
    IceServer,
    Join,
    Joined,
    Kick,
    Leave,
    LockRoom,
    Peer,
    PeerJoined,
    PeerLeft,
    PeerStateChanged,
    ProtocolError,
    Role,
    SelfInfo,
    SendChat,
    SendSignal,
    ServerInfo,
    ServerMute,
    SetState,
    SignalRelayed,
    decode_client,
    decode_server,
    encode,
    limits,
    name_key,
)
from protocol.text import INVISIBLE

CLIENT_TYPES = (Join, SendChat, SendSignal, SetState, Leave)
CLIENT_TYPE_NAMES = ["join", "chat", "signal", "state", "leave"]


def dumps(message: dict[str, Any]) -> str:
    return json.dumps(message)


def bad(data: str | bytes) -> ProtocolError:
    """Decode ``data``, which must be refused with ``bad-message``; return the error."""
    with pytest.raises(ProtocolError) as info:
        decode_client(data)
    assert info.value.code is ErrorCode.BAD_MESSAGE
    assert info.value.message  # for people: never empty
    return info.value


def join(**fields: Any) -> str:
    return dumps({"type": "join", "room": "lobby", "username": "alice", **fields})


def chat(text: Any, **fields: Any) -> str:
    return dumps({"type": "chat", "text": text, **fields})


def signal_with(payload: Any) -> str:
    return dumps({"type": "signal", "target": "p1", "payload": payload})


def compact_utf8_len(value: Any) -> int:
    """The spec's measure of a payload, computed independently of msgspec."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


# --- constants and error codes -------------------------------------------------------------


def test_error_codes_are_the_spec_table() -> None:
    spec_codes = {
        "bad-message",
        "not-joined",
        "already-joined",
        "auth-failed",
        "room-full",
        "name-taken",
        "unknown-target",
        "rate-limited",
        "server-full",
    }
    assert spec_codes <= {code.value for code in ErrorCode}
    assert ErrorCode("bad-message") is ErrorCode.BAD_MESSAGE
    assert str(ErrorCode.BAD_MESSAGE) == "bad-message"
    assert ErrorCode.UNKNOWN_TARGET.value == "unknown-target"


def test_limits_match_the_spec() -> None:
    assert limits.SUBPROTOCOL == "voxroom.v1"
    assert limits.WS_PATH == "/ws"
    assert limits.DEFAULT_PORT == 8765
    assert limits.MAX_ROOM_CHARS == 64
    assert limits.MAX_USERNAME_CHARS == 32
    assert limits.MAX_CHAT_CHARS == 2000
    assert limits.MAX_NONCE_CHARS == 64
    assert limits.MAX_SIGNAL_PAYLOAD_BYTES == 32 * 1024
    assert limits.HISTORY_ON_JOIN == 50
    assert limits.MAX_HISTORY_SINCE == 1000
    assert limits.DEFAULT_MAX_MESSAGE_BYTES == 65_536
    assert limits.DEFAULT_MAX_ROOM_SIZE == 16
    assert limits.DEFAULT_MAX_CONNECTIONS == 10_000
    assert (limits.DEFAULT_CHAT_RATE_PER_S, limits.DEFAULT_CHAT_BURST) == (20.0, 40)
    assert (limits.DEFAULT_SIGNAL_RATE_PER_S, limits.DEFAULT_SIGNAL_BURST) == (100.0, 400)
    assert (limits.CHAT_BURST_PER_RATE, limits.SIGNAL_BURST_PER_RATE) == (2, 4)
    assert limits.DEFAULT_GRACE_S == 15.0
    assert (limits.PING_INTERVAL_S, limits.PING_TIMEOUT_S) == (20.0, 20.0)


def test_close_codes_match_the_spec() -> None:
    assert (CloseCode.NORMAL_CLOSURE, CloseCode.GOING_AWAY, CloseCode.INVALID_DATA) == (1000, 1001, 1007)
    assert (CloseCode.POLICY_VIOLATION, CloseCode.MESSAGE_TOO_BIG, CloseCode.TRY_AGAIN_LATER) == (
        1008,
        1009,
        1013,
    )
    assert AppCloseCode(4000) is AppCloseCode.SUPERSEDED
    assert all(4000 <= code <= 4999 for code in AppCloseCode)  # RFC 6455's private range


# --- join: defaults and room ---------------------------------------------------------------


def test_join_minimal_has_the_spec_defaults() -> None:
    assert decode_client(join()) == Join(
        room="lobby", username="alice", password=None, voice=True, resume=None, since=None
    )


def test_join_all_fields() -> None:
    msg = decode_client(join(password="pw", voice=False, resume="tok", since=7))
    assert msg == Join(room="lobby", username="alice", password="pw", voice=False, resume="tok", since=7)


@pytest.mark.parametrize(
    "room",
    ["a", "Z", "0", "_", ".", "-", "A-Z_0.9-", "x" * 64, "Lobby.Main_2-b"],
)
def test_room_accepted(room: str) -> None:
    msg = decode_client(join(room=room))
    assert isinstance(msg, Join)
    assert msg.room == room  # case kept: room names are case-sensitive


@pytest.mark.parametrize(
    "room",
    [
        "",
        "x" * 65,
        "a b",
        "a/b",
        "a:b",
        "é",
        "a\u0430",  # Cyrillic a
        "lobby\n",  # a trailing newline must not slip past `$`
        "\nlobby",
        "lobby\r\n",
        " lobby",
        "lobby ",
        "lo\x00bby",
    ],
)
def test_room_refused(room: str) -> None:
    error = bad(join(room=room))
    assert error.ref == "join"


@pytest.mark.parametrize("room", [None, 5, ["lobby"], {"a": 1}, True])
def test_room_wrong_type_refused(room: Any) -> None:
    assert bad(join(room=room)).ref == "join"


def test_join_missing_required_fields_refused() -> None:
    assert bad(dumps({"type": "join", "room": "lobby"})).ref == "join"
    assert bad(dumps({"type": "join", "username": "alice"})).ref == "join"


# --- username ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a", "a"),
        ("  alice  ", "alice"),
        ("\u3000alice\u00a0", "alice"),  # ideographic space, no-break space
        ("\u2003\talice\n\u0085", "alice"),  # em space, tab, newline, NEL: all Unicode whitespace
        ("Alice Smith", "Alice Smith"),  # inner whitespace is kept
        ("x" * 32, "x" * 32),
        ("é" * 32, "é" * 32),  # 32 code points, 64 UTF-8 bytes
        ("😀" * 32, "😀" * 32),  # 32 code points, 128 UTF-8 bytes
        ("  " + "y" * 32 + "  ", "y" * 32),  # length counted after trimming
        ("Ærøskøbing", "Ærøskøbing"),
        ("李小龍", "李小龍"),
    ],
)
def test_username_accepted_and_trimmed(raw: str, clean: str) -> None:
    msg = decode_client(join(username=raw))
    assert isinstance(msg, Join)
    assert msg.username == clean


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " ",
        "\t\n\u3000",
        "x" * 33,
        "é" * 33,
        "😀" * 33,
        " " + "z" * 33 + " ",
    ],
)
def test_username_length_refused(raw: str) -> None:
    assert bad(join(username=raw)).ref == "join"


@pytest.mark.parametrize(
    ("char", "category"),
    [
        ("\x00", "Cc"),
        ("\x07", "Cc"),
        ("\x1b", "Cc"),
        ("\x7f", "Cc"),
        ("\u0090", "Cc"),
        ("\u202e", "Cf"),  # RIGHT-TO-LEFT OVERRIDE
        ("\u202d", "Cf"),  # LEFT-TO-RIGHT OVERRIDE
        ("\u2066", "Cf"),  # LEFT-TO-RIGHT ISOLATE
        ("\u200b", "Cf"),  # ZERO WIDTH SPACE
        ("\u200d", "Cf"),  # ZERO WIDTH JOINER
        ("\ufeff", "Cf"),  # BOM
        ("\u00ad", "Cf"),  # SOFT HYPHEN
        ("\ue000", "Co"),
        ("\U000f0000", "Co"),
        ("\u0378", "Cn"),
        ("\U000e0080", "Cn"),
    ],
)
def test_username_forbidden_categories_refused(char: str, category: str) -> None:
    assert unicodedata.category(char) == category  # the test's own premise
    assert bad(join(username=f"ali{char}ce")).ref == "join"
    if category != "Cc" or not char.isspace():
        assert bad(join(username=f"alice{char}")).ref == "join"


def test_username_lone_surrogate_refused() -> None:
    # A JSON escape of a lone surrogate (category Cs) is not a valid username either.
    raw = '{"type":"join","room":"lobby","username":"ali\\ud800ce"}'
    bad(raw)


@pytest.mark.parametrize("char", ["\x1c", "\x1d", "\x1e", "\x1f"])
def test_username_trailing_information_separator_refused(char: str) -> None:
    bad(join(username=f"alice{char}"))


@pytest.mark.parametrize("username", [None, 5, ["alice"], True])
def test_username_wrong_type_refused(username: Any) -> None:
    assert bad(join(username=username)).ref == "join"


def test_name_key_folds_case() -> None:
    assert name_key("Alice") == name_key("ALICE") == name_key("alice") == "alice"
    assert name_key("Straße") == name_key("STRASSE") == "strasse"  # casefold, not lower
    assert "Straße".lower() != "STRASSE".lower()  # the premise that makes this a real test
    assert name_key("ΣΊΣΥΦΟΣ") == name_key("σίσυφος")
    mark, mark_upper, mark_lower = (
        "\u041c\u0430\u0440\u043a",
        "\u041c\u0410\u0420\u041a",
        "\u043c\u0430\u0440\u043a",
    )
    assert name_key(mark) == name_key(mark_upper) == name_key(mark_lower)  # folded before the skeleton


@pytest.mark.parametrize(
    "look_alike",
    [
        "\u0430lice",  # Cyrillic a
        "\uff41\uff4c\uff49\uff43\uff45",  # fullwidth: NFKC
        "al\u0456ce",  # Cyrillic i
        "\u0410LICE",  # Cyrillic capital A, folded then mapped
        "\u0251lice",  # Latin alpha
        "a1ice",  # digit one
        "alIce",  # capital I
        "alice\u3164",  # Hangul filler (Default_Ignorable): dropped
        "ali\u034fce",  # combining grapheme joiner (Default_Ignorable): dropped
        "alice\u2800",  # braille blank: dropped
        "\U0001d41a\U0001d425\U0001d422\U0001d41c\U0001d41e",  # mathematical bold: NFKC
    ],
)
def test_name_key_look_alikes_collide(look_alike: str) -> None:
    assert look_alike != "alice"
    assert name_key(look_alike) == name_key("alice") == "alice"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("e\u0301", "\u00e9"),  # NFD and NFC
        ("olive", "0live"),  # a prototype that is a capital (0 -> O) is folded again
        ("modern", "rnodern"),  # TS #39 maps m to rn
        ("paypal", "\u0440\u0430yp\u0430l"),
    ],
)
def test_name_key_equal_pairs(one: str, other: str) -> None:
    assert name_key(one) == name_key(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [("alice", "alicia"), ("alice", "al ice"), ("ana", "anna"), ("李小龍", "李小龙"), ("bob", "bób")],
)
def test_name_key_keeps_different_names_apart(one: str, other: str) -> None:
    assert name_key(one) != name_key(other)


@pytest.mark.parametrize(
    "raw",
    [
        "\u3164",  # HANGUL FILLER, a letter (Lo) that draws nothing
        "\u3164\u3164\u3164",
        "\u115f",  # HANGUL CHOSEONG FILLER
        "\u1160",  # HANGUL JUNGSEONG FILLER
        "\uffa0",  # HALFWIDTH HANGUL FILLER
        "\u2800\u2800",  # BRAILLE PATTERN BLANK (So)
        "\u3164 \u2800",  # blanks around an inner space
        "\u0301",  # combining marks only: Mn
        "\u0301\u0302\u0303",
        "\u20dd",  # Me
        "\u0903",  # Mc
        "\ufe0f",  # a variation selector (Mn, Default_Ignorable)
        "\u034f",  # COMBINING GRAPHEME JOINER
        "\u17b4",  # KHMER VOWEL INHERENT AQ
    ],
)
def test_username_without_a_visible_character_refused(raw: str) -> None:
    assert bad(join(username=raw)).ref == "join"


@pytest.mark.parametrize(
    "raw",
    [
        "e\u0301",  # a mark on a base character
        "\u2764\ufe0f",  # an emoji with its variation selector
        "\u0915\u094d\u0937",  # Devanagari conjunct (a virama, Mn, inside)
        "a\u2800b",  # blanks beside a visible character: accepted, dropped from the key
        "\u3164bob",
        "_",
        ".",
    ],
)
def test_username_with_a_visible_character_accepted(raw: str) -> None:
    msg = decode_client(join(username=raw))
    assert isinstance(msg, Join)
    assert msg.username == raw


@pytest.mark.parametrize("char", ["\u2028", "\u2029"])
def test_username_line_and_paragraph_separators_refused(char: str) -> None:
    assert unicodedata.category(char) in {"Zl", "Zp"}
    assert bad(join(username=f"ali{char}ce")).ref == "join"


# --- join: other fields ----------------------------------------------------------------------


@pytest.mark.parametrize("since", [0, 1, 50, 2**53])
def test_since_accepted(since: int) -> None:
    msg = decode_client(join(since=since))
    assert isinstance(msg, Join)
    assert msg.since == since
    assert type(msg.since) is int


@pytest.mark.parametrize("since", [-1, -(2**40), True, False, 1.0, 0.5, "3", [3], {"id": 3}])
def test_since_refused(since: Any) -> None:
    assert bad(join(since=since)).ref == "join"


def test_since_float_literals_refused() -> None:
    # json.dumps never writes 1e2 for an int, so spell the literals out.
    for literal in ("1e2", "1.0", "0.0", "-0"):
        raw = '{"type":"join","room":"lobby","username":"alice","since":' + literal + "}"
        if literal == "-0":
            # -0 is the integer zero in JSON: accepted.
            msg = decode_client(raw)
            assert isinstance(msg, Join)
            assert msg.since == 0
        else:
            assert bad(raw).ref == "join"


@pytest.mark.parametrize("voice", [None, 1, 0, "true", []])
def test_voice_must_be_bool(voice: Any) -> None:
    assert bad(join(voice=voice)).ref == "join"


@pytest.mark.parametrize(("field", "value"), [("password", 1), ("resume", 1), ("password", ["x"])])
def test_join_optional_strings_must_be_strings(field: str, value: Any) -> None:
    assert bad(join(**{field: value})).ref == "join"


# --- chat ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("hi", "hi"),
        ("  hi  ", "hi"),
        ("\n\thi there\n", "hi there"),
        ("line 1\nline 2\n\tindented", "line 1\nline 2\n\tindented"),  # newlines and tabs allowed
        ("x" * 2000, "x" * 2000),
        ("é" * 2000, "é" * 2000),
        ("😀" * 2000, "😀" * 2000),
        ("   " + "y" * 2000 + "\n\n", "y" * 2000),
        ("a\u202fb", "a\u202fb"),  # narrow no-break space inside: kept
        ("private \ue000 use", "private \ue000 use"),  # Co is not refused in chat
    ],
)
def test_chat_accepted_and_trimmed(raw: str, clean: str) -> None:
    msg = decode_client(chat(raw))
    assert msg == SendChat(text=clean, nonce=None)


@pytest.mark.parametrize(
    "raw",
    ["", " ", "\n\t \u3000", "x" * 2001, "é" * 2001, "😀" * 2001, " " + "z" * 2001 + " "],
)
def test_chat_length_refused(raw: str) -> None:
    assert bad(chat(raw)).ref == "chat"


@pytest.mark.parametrize(
    "char",
    [
        "\x00",
        "\x07",
        "\x08",
        "\x0b",
        "\x0c",
        "\x1b",
        "\x7f",
        "\u0085",
        "\u202e",
        "\u200b",
        "\u2066",
        "\ufeff",
    ],
)
def test_chat_other_control_and_format_refused(char: str) -> None:
    assert unicodedata.category(char) in {"Cc", "Cf"}
    assert bad(chat(f"hello{char}world")).ref == "chat"


def test_chat_trailing_information_separator_refused() -> None:
    bad(chat("hello\x1f"))


@pytest.mark.parametrize("text", [None, 1, ["hi"], {"t": "hi"}, True])
def test_chat_text_wrong_type_refused(text: Any) -> None:
    assert bad(chat(text)).ref == "chat"


def test_chat_missing_text_refused() -> None:
    assert bad(dumps({"type": "chat"})).ref == "chat"


@pytest.mark.parametrize("nonce", ["", "n", "x" * 64, "é" * 64, "😀" * 64])
def test_nonce_up_to_64_code_points(nonce: str) -> None:
    assert decode_client(chat("hi", nonce=nonce)) == SendChat(text="hi", nonce=nonce)


@pytest.mark.parametrize("nonce", ["x" * 65, "é" * 65, "😀" * 65, 5, ["n"], True])
def test_nonce_refused(nonce: Any) -> None:
    assert bad(chat("hi", nonce=nonce)).ref == "chat"


@pytest.mark.parametrize(
    "char", ["\x00", "\x1b", "\n", "\t", "\x7f", "\u0085", "\u202e", "\u200b", "\u2066", "\ufeff", "\u00ad"]
)
def test_nonce_control_and_format_refused(char: str) -> None:
    assert unicodedata.category(char) in {"Cc", "Cf"}
    assert bad(chat("hi", nonce=f"n{char}1")).ref == "chat"
    assert bad(chat("hi", nonce=char)).ref == "chat"


@pytest.mark.parametrize("nonce", [" n-1 ", "\u3000n", "c-17", "\ue000", "a b"])
def test_nonce_is_opaque_and_kept_as_sent(nonce: str) -> None:
    assert decode_client(chat("hi", nonce=nonce)) == SendChat(text="hi", nonce=nonce)


def test_nonce_null_means_absent() -> None:
    assert decode_client(chat("hi", nonce=None)) == SendChat(text="hi", nonce=None)


# --- signal ----------------------------------------------------------------------------------


def test_signal_accepted() -> None:
    payload = {"kind": "offer", "sdp": "v=0\r\n", "nested": {"list": [1, 2.5, None, True]}}
    assert decode_client(signal_with(payload)) == SendSignal(target="p1", payload=payload)


@pytest.mark.parametrize("payload", [None, [], ["kind"], "offer", 1, True])
def test_signal_payload_must_be_object(payload: Any) -> None:
    assert bad(signal_with(payload)).ref == "signal"


@pytest.mark.parametrize("target", [None, 1, ["p1"]])
def test_signal_target_must_be_string(target: Any) -> None:
    assert bad(dumps({"type": "signal", "target": target, "payload": {}})).ref == "signal"


def test_signal_missing_fields_refused() -> None:
    assert bad(dumps({"type": "signal", "target": "p1"})).ref == "signal"
    assert bad(dumps({"type": "signal", "payload": {}})).ref == "signal"


def _payload_of_size(size: int) -> dict[str, Any]:
    """A payload whose compact UTF-8 JSON is exactly ``size`` bytes, with multi-byte chars."""
    head = {"kind": "offer", "sdp": "", "x": "é😀"}
    overhead = compact_utf8_len(head)
    filler = size - overhead
    assert filler > 1000
    # 100 two-byte and 100 four-byte characters, then ASCII to reach the size.
    sdp = "é" * 100 + "😀" * 100 + "a" * (filler - 600)
    payload = {**head, "sdp": sdp}
    assert compact_utf8_len(payload) == size
    return payload


def test_signal_payload_exactly_at_limit_accepted() -> None:
    payload = _payload_of_size(limits.MAX_SIGNAL_PAYLOAD_BYTES)
    msg = decode_client(signal_with(payload))
    assert msg == SendSignal(target="p1", payload=payload)


def test_signal_payload_one_byte_over_limit_refused() -> None:
    payload = _payload_of_size(limits.MAX_SIGNAL_PAYLOAD_BYTES + 1)
    error = bad(signal_with(payload))
    assert error.ref == "signal"


def test_signal_payload_measured_in_bytes_not_code_points() -> None:
    # 8,200 code points, but 32,800 bytes of UTF-8: over the limit.
    payload = {"sdp": "😀" * 8200}
    assert len(json.dumps(payload, ensure_ascii=False)) < limits.MAX_SIGNAL_PAYLOAD_BYTES
    assert bad(signal_with(payload)).ref == "signal"


def test_signal_payload_measured_re_serialized_compact() -> None:
    """Whitespace and \\u escapes in the received text do not count; the compact UTF-8 form does."""
    payload = _payload_of_size(limits.MAX_SIGNAL_PAYLOAD_BYTES)
    # ensure_ascii turns every é/😀 into 6/12 bytes of escapes; indent adds whitespace.
    raw = json.dumps({"type": "signal", "target": "p1", "payload": payload}, indent=4, ensure_ascii=True)
    assert len(raw.encode()) > limits.MAX_SIGNAL_PAYLOAD_BYTES + 1000
    assert decode_client(raw) == SendSignal(target="p1", payload=payload)


# --- state and leave -------------------------------------------------------------------------


def test_state_any_subset() -> None:
    assert decode_client(dumps({"type": "state"})) == SetState(muted=None, deafened=None, voice=None)
    assert decode_client(dumps({"type": "state", "muted": True})) == SetState(muted=True)
    assert decode_client(dumps({"type": "state", "deafened": False, "voice": True})) == SetState(
        muted=None, deafened=False, voice=True
    )
    assert decode_client(dumps({"type": "state", "muted": False, "deafened": True, "voice": False})) == (
        SetState(muted=False, deafened=True, voice=False)
    )


@pytest.mark.parametrize("field", ["muted", "deafened", "voice"])
@pytest.mark.parametrize("value", [1, 0, "true", [], {}])
def test_state_fields_must_be_bools(field: str, value: Any) -> None:
    assert bad(dumps({"type": "state", field: value})).ref == "state"


def test_leave() -> None:
    assert decode_client(dumps({"type": "leave"})) == Leave()


# --- forward compatibility -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"type": "leave", "reason": "bye", "v": 2}, Leave()),
        ({"type": "chat", "text": "hi", "from": "p9", "id": 3, "username": "eve"}, SendChat(text="hi")),
        (
            {"type": "join", "room": "r", "username": "u", "avatar": {"url": "x"}, "id": "p9"},
            Join(room="r", username="u"),
        ),
        ({"type": "state", "muted": True, "id": "p9", "extra": [1, {"a": None}]}, SetState(muted=True)),
        (
            {"type": "signal", "target": "p2", "payload": {}, "from": "p9"},
            SendSignal(target="p2", payload={}),
        ),
    ],
)
def test_unknown_extra_fields_ignored(message: dict[str, Any], expected: Any) -> None:
    assert decode_client(dumps(message)) == expected


def test_bytes_holding_json_decode_too() -> None:
    assert decode_client(b'{"type":"leave"}') == Leave()


# --- malformed input and `ref` ---------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "",
        " ",
        "hello",
        "{",
        "{'type': 'leave'}",  # not JSON: single quotes
        '{"type":"leave"} trailing',
        '{"type":"leave"}{"type":"leave"}',
        "[]",
        '[{"type":"leave"}]',
        "null",
        "true",
        "1",
        '"leave"',
        '{"type":"chat","text":NaN}',
        "{}",
        '{"text":"hi"}',
        '{"type":null}',
        '{"type":1}',
        '{"type":["chat"]}',
        '{"type":{"t":"chat"}}',
        b"",
        b"\x00\x01\x02",
        b"\xff\xfe\xfd",
        b"\x89PNG\r\n\x1a\n",
        b'{"type":"chat","text":"\xff"}',  # invalid UTF-8 inside a string
        "\ud800",  # a lone surrogate cannot even be UTF-8 encoded
    ],
)
def test_malformed_without_readable_type_has_no_ref(data: str | bytes) -> None:
    assert bad(data).ref is None


@pytest.mark.parametrize("kind", ["dance", "joined", "JOIN", "Chat", "", "peer-left", "error"])
def test_unknown_type_refused_with_ref(kind: str) -> None:
    assert bad(dumps({"type": kind, "text": "hi"})).ref == kind


def test_missing_type_reason_is_readable() -> None:
    error = bad(dumps({"room": "lobby", "username": "alice"}))
    assert error.ref is None
    assert "type" in error.message


def test_wrong_field_type_keeps_type_as_ref() -> None:
    error = bad(dumps({"type": "chat", "text": 5}))
    assert error.ref == "chat"
    assert "text" in error.message  # says which field


def test_server_only_type_is_unknown_to_decode_client() -> None:
    # `chat` from the server has other fields; a `joined` is simply not a client type.
    raw = encode(PeerLeft(id="p1"))
    assert bad(raw).ref == "peer-left"


@pytest.mark.parametrize(
    "data",
    [
        "[" * 2000 + "]" * 2000,
        '{"a":' * 2000 + "1" + "}" * 2000,
        '{"type":"chat","text":"hi","extra":' + "[" * 2000 + "]" * 2000 + "}",
    ],
)
def test_deeply_nested_json_is_bad_message(data: str) -> None:
    assert len(data.encode()) < limits.DEFAULT_MAX_MESSAGE_BYTES
    bad(data)


def test_moderately_nested_extra_field_is_fine() -> None:
    raw = '{"type":"chat","text":"hi","extra":' + "[" * 100 + "]" * 100 + "}"
    assert decode_client(raw) == SendChat(text="hi")


# --- server messages: exact encodings --------------------------------------------------------


def test_encode_chat_omits_nonce_when_none() -> None:
    posted = ChatPosted(id=7, from_="p1", username="alice", text="hi", ts=1_700_000_000_123)
    assert encode(posted) == (
        b'{"type":"chat","id":7,"from":"p1","username":"alice","text":"hi","ts":1700000000123}'
    )


def test_encode_chat_with_nonce() -> None:
    posted = ChatPosted(id=1, from_="p1", username="é", text="a\nb", ts=5, nonce="n-1")
    assert encode(posted) == (
        b'{"type":"chat","id":1,"from":"p1","username":"\xc3\xa9","text":"a\\nb","ts":5,"nonce":"n-1"}'
    )


def _joined(**overrides: Any) -> Joined:
    fields: dict[str, Any] = {
        "room": "lobby",
        "self_": SelfInfo(id="p2", username="bob"),
        "peers": [],
        "history": [],
        "resume": "tok",
        "resumed": False,
        "ice_servers": [],
        "server": ServerInfo(version="0.1.0"),
    }
    fields.update(overrides)
    return Joined(**fields)


def test_encode_joined_minimal_keeps_every_required_key() -> None:
    assert encode(_joined()) == (
        b'{"type":"joined","room":"lobby","self":{"id":"p2","username":"bob"},"peers":[],"history":[],'
        b'"resume":"tok","resumed":false,"ice_servers":[],"server":{"version":"0.1.0"}}'
    )


def test_encode_joined_full() -> None:
    joined = _joined(
        peers=[Peer(id="p1", username="alice", muted=True, deafened=False, voice=True)],
        history=[ChatPosted(id=3, from_="p1", username="alice", text="hey", ts=9, nonce="x")],
        resumed=True,
        ice_servers=[
            IceServer(urls=["stun:stun.example:3478"]),
            IceServer(urls=["turn:t.example"], username="u", credential="c"),
        ],
        history_truncated=True,
    )
    decoded = json.loads(encode(joined))
    assert decoded == {
        "type": "joined",
        "room": "lobby",
        "self": {"id": "p2", "username": "bob"},
        "peers": [{"id": "p1", "username": "alice", "muted": True, "deafened": False, "voice": True}],
        "history": [
            {"type": "chat", "id": 3, "from": "p1", "username": "alice", "text": "hey", "ts": 9, "nonce": "x"}
        ],
        "resume": "tok",
        "resumed": True,
        "ice_servers": [
            {"urls": ["stun:stun.example:3478"]},
            {"urls": ["turn:t.example"], "username": "u", "credential": "c"},
        ],
        "server": {"version": "0.1.0"},
        "history_truncated": True,
    }


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            PeerJoined(peer=Peer(id="p1", username="alice", muted=False, deafened=False, voice=True)),
            b'{"type":"peer-joined","peer":{"id":"p1","username":"alice","muted":false,'
            b'"deafened":false,"voice":true}}',
        ),
        (PeerLeft(id="p1"), b'{"type":"peer-left","id":"p1"}'),
        (
            PeerStateChanged(id="p1", muted=True, deafened=False, voice=False),
            b'{"type":"peer-state","id":"p1","muted":true,"deafened":false,"voice":false}',
        ),
        (
            SignalRelayed(from_="p1", payload={"kind": "answer", "sdp": "v=0"}),
            b'{"type":"signal","from":"p1","payload":{"kind":"answer","sdp":"v=0"}}',
        ),
        (
            ErrorReported(code="bad-message", message="no"),
            b'{"type":"error","code":"bad-message","message":"no"}',
        ),
        (
            ErrorReported(code="unknown-target", message="no", ref="signal", target="p9"),
            b'{"type":"error","code":"unknown-target","message":"no","ref":"signal","target":"p9"}',
        ),
    ],
)
def test_encode_server_messages_exactly(message: msgspec.Struct, expected: bytes) -> None:
    assert encode(message) == expected


def test_encode_client_messages_exactly() -> None:
    assert encode(Leave()) == b'{"type":"leave"}'
    assert encode(SetState(muted=True)) == b'{"type":"state","muted":true}'
    assert encode(SendChat(text="hi")) == b'{"type":"chat","text":"hi"}'
    assert (
        encode(Join(room="r", username="u", since=0))
        == b'{"type":"join","room":"r","username":"u","since":0}'
    )


@pytest.mark.parametrize(
    "message",
    [
        _joined(),
        _joined(
            peers=[Peer(id="p1", username="ålice", muted=False, deafened=True, voice=False)],
            history=[ChatPosted(id=1, from_="p1", username="ålice", text="x", ts=1)],
            resumed=True,
            ice_servers=[IceServer(urls=["stun:a", "stun:b"], username="u", credential="c")],
            history_truncated=True,
        ),
        PeerJoined(peer=Peer(id="p1", username="a", muted=True, deafened=True, voice=True)),
        PeerLeft(id="p1"),
        PeerStateChanged(id="p1", muted=False, deafened=True, voice=True),
        ChatPosted(id=2, from_="p1", username="a", text="😀\n", ts=3, nonce="n"),
        ChatPosted(id=2, from_="p1", username="a", text="t", ts=3),
        SignalRelayed(from_="p1", payload={"kind": "candidate", "candidate": "", "sdpMLineIndex": 0}),
        ErrorReported(code="rate-limited", message="slow down", ref="chat"),
        ErrorReported(code="unknown-target", message="no", ref="signal", target="p2"),
    ],
)
def test_decode_server_round_trip(message: msgspec.Struct) -> None:
    data = encode(message)
    assert decode_server(data) == message
    assert decode_server(data.decode()) == message


def test_decode_server_refuses_garbage_with_ref() -> None:
    with pytest.raises(ProtocolError) as info:
        decode_server('{"type":"peer-left"}')
    assert info.value.code is ErrorCode.BAD_MESSAGE
    assert info.value.ref == "peer-left"
    with pytest.raises(ProtocolError) as info:
        decode_server("nope")
    assert info.value.ref is None


# --- property-based fuzzing ------------------------------------------------------------------

FUZZ = settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

FIELD_NAMES = [
    "type",
    "room",
    "username",
    "password",
    "voice",
    "resume",
    "since",
    "text",
    "nonce",
    "target",
    "payload",
    "muted",
    "deafened",
    "from",
    "id",
]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)
typed_objects = st.builds(
    lambda kind, fields: {**fields, "type": kind},
    st.sampled_from([*CLIENT_TYPE_NAMES, "joined", "peer-left", "error", "", "JOIN"]),
    st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=6), json_values, max_size=6),
)
# Nearly valid messages, so that the accepting paths are fuzzed as well.
near_joins = st.fixed_dictionaries(
    {
        "type": st.just("join"),
        "room": st.from_regex(r"[A-Za-z0-9_.\-]{1,64}", fullmatch=True) | st.text(max_size=70),
        "username": st.text(max_size=40),
    },
    optional={
        "voice": st.booleans(),
        "since": st.integers(min_value=-5),
        "resume": st.text(max_size=10),
        "password": st.text(max_size=10),
    },
)
near_chats = st.fixed_dictionaries(
    {"type": st.just("chat"), "text": st.text(max_size=60) | st.text(min_size=1990, max_size=2010)},
    optional={"nonce": st.text(max_size=70)},
)
near_signals = st.fixed_dictionaries(
    {
        "type": st.just("signal"),
        "target": st.text(max_size=10),
        "payload": st.dictionaries(st.text(max_size=8), json_values, max_size=5),
    }
)


def _outcome(data: str | bytes) -> ClientMessage | ProtocolError:
    try:
        return decode_client(data)
    except ProtocolError as exc:
        return exc


def _check_outcome(data: str | bytes) -> ClientMessage | ProtocolError:
    """``decode_client`` returns a client message or raises ProtocolError(bad-message), nothing else."""
    outcome = _outcome(data)  # any other exception fails the test
    if isinstance(outcome, ProtocolError):
        assert outcome.code is ErrorCode.BAD_MESSAGE
        assert outcome.ref is None or isinstance(outcome.ref, str)
        return outcome
    msg = outcome
    assert isinstance(msg, CLIENT_TYPES)
    if isinstance(msg, Join):
        assert 1 <= len(msg.username) <= limits.MAX_USERNAME_CHARS
        assert msg.username == msg.username.strip()
        assert not any(
            unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"} for c in msg.username
        )
        assert any(c not in INVISIBLE and unicodedata.category(c)[0] not in "ZCM" for c in msg.username)
        assert 1 <= len(msg.room) <= limits.MAX_ROOM_CHARS
        assert msg.since is None or msg.since >= 0
    elif isinstance(msg, SendChat):
        assert 1 <= len(msg.text) <= limits.MAX_CHAT_CHARS
        assert msg.text == msg.text.strip()
        assert msg.nonce is None or len(msg.nonce) <= limits.MAX_NONCE_CHARS
        assert msg.nonce is None or not any(unicodedata.category(c) in {"Cc", "Cf", "Cs"} for c in msg.nonce)
    elif isinstance(msg, SendSignal):
        assert compact_utf8_len(msg.payload) <= limits.MAX_SIGNAL_PAYLOAD_BYTES
    return msg


@FUZZ
@given(st.text())
def test_fuzz_arbitrary_text(data: str) -> None:
    _check_outcome(data)


@FUZZ
@given(st.binary())
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    _check_outcome(data)


@FUZZ
@given(json_values)
def test_fuzz_arbitrary_json_values(value: Any) -> None:
    _check_outcome(json.dumps(value))


@FUZZ
@given(typed_objects)
def test_fuzz_objects_with_a_type(value: dict[str, Any]) -> None:
    outcome = _check_outcome(json.dumps(value))
    # The `ref` of a refused object is its (string) `type`.
    if isinstance(outcome, ProtocolError):
        assert outcome.ref == value["type"]


@FUZZ
@given(near_joins | near_chats | near_signals)
def test_fuzz_nearly_valid_messages(value: dict[str, Any]) -> None:
    data = json.dumps(value)
    outcome = _check_outcome(data)
    assert _check_outcome(data.encode()) == outcome or isinstance(outcome, ProtocolError)
    if isinstance(outcome, ProtocolError):
        assert outcome.ref == value["type"]


@FUZZ
@given(st.text(max_size=32))
def test_fuzz_name_key_ignores_case(name: str) -> None:
    assert name_key(name.upper()) == name_key(name) == name_key(name.lower())


@FUZZ
@given(typed_objects | near_joins | near_chats, st.integers(min_value=0), st.binary(max_size=4))
def test_fuzz_mangled_bytes(value: dict[str, Any], at: int, junk: bytes) -> None:
    data = json.dumps(value, ensure_ascii=False).encode()
    at %= len(data) + 1
    _check_outcome(data[:at] + junk + data[at:])


# --- moderation (an addition to v1) -----------------------------------------------------------


def test_moderation_requests_decode_with_their_rules() -> None:
    assert decode_client('{"type":"kick","target":"p2","reason":"  spam \\n"}') == Kick(
        target="p2", reason="spam"
    )
    assert decode_client('{"type":"ban","target":"p2"}') == Ban(
        target="p2", reason="", duration_s=limits.DEFAULT_BAN_S
    )
    assert decode_client('{"type":"server-mute","target":"p2","muted":false}') == ServerMute(
        target="p2", muted=False
    )
    assert decode_client('{"type":"lock-room","locked":true,"password":"pw"}') == LockRoom(
        locked=True, password="pw"
    )
    for bad in (
        {"type": "ban", "target": "p2", "duration_s": 0},
        {"type": "ban", "target": "p2", "duration_s": limits.MAX_BAN_S + 1},
        {"type": "kick", "target": "p2", "reason": "x" * (limits.MAX_REASON_CHARS + 1)},
        {"type": "kick", "target": "p2", "reason": "a\u202eb"},
        {"type": "server-mute", "target": "p2"},
    ):
        with pytest.raises(ProtocolError) as caught:
            decode_client(json.dumps(bad))
        assert (caught.value.code, caught.value.ref) == (ErrorCode.BAD_MESSAGE, bad["type"])


def test_a_member_is_sent_as_in_v1_so_the_addition_costs_old_clients_nothing() -> None:
    assert json.loads(encode(Peer("p1", "ann", False, False, True))) == {
        "id": "p1",
        "username": "ann",
        "muted": False,
        "deafened": False,
        "voice": True,
    }
    assert json.loads(encode(SelfInfo(id="p1", username="ann"))) == {"id": "p1", "username": "ann"}
    moderator = encode(Peer("p1", "ann", True, False, True, role=Role.MODERATOR, server_muted=True))
    assert json.loads(moderator)["role"] == "moderator"
    assert msgspec.json.decode(moderator, type=_V1Peer) == _V1Peer("p1", "ann", True, False, True)


class _V1Peer(msgspec.Struct):
    """``Peer`` as a v1 client decodes it: unknown fields are ignored."""

    id: str
    username: str
    muted: bool
    deafened: bool
    voice: bool
