"""The signaling session's media-server part (``Session``): what the server says becomes events,
and the engine's SDPs go out only while joined. Exact action lists, a float clock, no sockets."""

import msgspec

from client_desktop.engine.events import MediaModeChanged, PublishAnswered, RoomJoined, StreamsOffered
from client_desktop.engine.session import Emit, Transmit
from protocol import (
    AnswerMedia,
    MediaMode,
    MediaOffered,
    MediaPublished,
    MediaStream,
    MediaSwitched,
    PublishMedia,
    decode_server,
    encode,
)

from .test_session import BOB, ICE, T0, in_room, joined, lose, make_session

OFFER = "v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\n"


def test_joined_says_how_the_room_s_call_goes() -> None:
    server_room = encode(msgspec.structs.replace(decode_server(joined()), media=MediaMode.SERVER))
    session = make_session()
    session.start()
    session.opened(T0)
    assert session.received(server_room, T0) == [
        Emit(RoomJoined("lobby", "p1", "ann", (BOB,), False, (ICE,), media=MediaMode.SERVER))
    ]


def test_media_messages_become_events_for_the_engine() -> None:
    session = in_room()
    streams = [MediaStream(mid="0", peer="p2"), MediaStream(mid="1", peer="p3")]
    assert session.received(encode(MediaSwitched(mode=MediaMode.SERVER)), T0) == [
        Emit(MediaModeChanged(MediaMode.SERVER))
    ]
    assert session.received(encode(MediaPublished(sdp="answer")), T0) == [Emit(PublishAnswered("answer"))]
    assert session.received(encode(MediaOffered(sdp=OFFER, streams=streams)), T0) == [
        Emit(StreamsOffered(OFFER, tuple(streams)))
    ]


def test_our_sdps_go_out_at_once_when_joined_and_are_dropped_otherwise() -> None:
    session = in_room()
    for request in (PublishMedia(sdp=OFFER), AnswerMedia(sdp="answer")):
        assert session.send_media(request, T0) == [Transmit(encode(request))]
    lose(session)
    assert session.send_media(PublishMedia(sdp=OFFER), T0) == []  # for a connection the engine redoes
