"""The rooms core's media-server rules (``signaling_server.media_rooms`` through ``Hub``), clock passed in.

docs/protocol.md, "Media server": when a room moves to the media server, who
is told what, which requests the media shell gets, and when a place's or a
room's Janus side goes.
"""

from typing import Any

from protocol import ErrorReported, MediaMode, MediaSwitched, PublishMedia
from signaling_server.effects import Effect, MediaClosed, MediaDropped, MediaRequested, MediaResumed, Send
from signaling_server.hub import Hub
from signaling_server.media_rooms import UNREACHABLE, UNSUPPORTED, over_limit
from signaling_server.model import ConnId, PeerId

from .test_hub import GRACE, T0, A, B, C, D, E, join, join_effects, joined_of, make_hub, only_error, send

SDP = "v=0\r\n"
URL = "ws://198.18.21.1:8188"


def media_hub(**overrides: Any) -> Hub:
    return make_hub(**{"media_server": URL, "mesh_limit": 2, **overrides})


def media_effects(effects: list[Effect]) -> list[Effect]:
    """The effects the media part added: its messages and the media shell's work."""
    return [
        e
        for e in effects
        if isinstance(e, MediaRequested | MediaDropped | MediaResumed | MediaClosed)
        or (isinstance(e, Send) and isinstance(e.message, MediaSwitched | ErrorReported))
    ]


def unsupported(conns: tuple[ConnId, ...]) -> Send:
    return Send("lobby", conns, ErrorReported(code="media-unsupported", message=UNSUPPORTED))


def failed(conns: tuple[ConnId, ...], words: str, room: str = "lobby", ref: str | None = None) -> Send:
    return Send(room, conns, ErrorReported(code="media-failed", message=words, ref=ref))


def switched(conns: tuple[ConnId, ...], mode: MediaMode, room: str = "lobby") -> Send:
    return Send(room, conns, MediaSwitched(mode=mode))


def test_the_voice_past_the_mesh_limit_switches_the_room() -> None:
    hub = media_hub()
    assert join(hub, A, "ann", media_server=True).media is MediaMode.MESH
    assert join(hub, B, "bob", media_server=True).media is MediaMode.MESH
    old = join_effects(hub, C, "old")  # a v1 client: the third voice
    assert media_effects(old) == [
        Send("lobby", (A, B), MediaSwitched(mode=MediaMode.SERVER)),
        unsupported((C,)),
    ]
    assert hub.media.mode("lobby") is MediaMode.SERVER
    assert join(hub, D, "dan", media_server=True).media is MediaMode.SERVER


def test_listeners_do_not_count_and_an_old_client_is_told_once_at_the_switch() -> None:
    hub = media_hub()
    join(hub, A, "old")
    join(hub, B, "ann", media_server=True)
    assert media_effects(join_effects(hub, C, "quiet", media_server=True, voice=False)) == []
    switched = send(hub, C, {"type": "state", "voice": True})
    assert media_effects(switched) == [
        Send("lobby", (B, C), MediaSwitched(mode=MediaMode.SERVER)),
        unsupported((A,)),
    ]
    assert media_effects(send(hub, C, {"type": "state", "voice": True})) == []


def test_without_a_media_server_the_room_stays_a_mesh() -> None:
    hub = make_hub(mesh_limit=0)
    joined = join(hub, A, "ann", media_server=True)
    assert joined.media is MediaMode.MESH
    error = only_error(send(hub, A, {"type": "media-publish", "sdp": SDP}), A)
    assert (error.code, error.ref) == ("bad-message", "media-publish")


def test_mesh_limit_zero_means_the_first_voice() -> None:
    hub = media_hub(mesh_limit=0)
    assert join(hub, A, "ann", media_server=True).media is MediaMode.SERVER
    published = send(hub, A, {"type": "media-publish", "sdp": SDP})
    assert published == [MediaRequested("lobby", PeerId("p1"), A, PublishMedia(sdp=SDP))]


def test_media_requests_are_refused_with_the_reason() -> None:
    hub = media_hub()
    join(hub, A, "ann", media_server=True)
    mesh = only_error(send(hub, A, {"type": "media-answer", "sdp": SDP}), A)
    assert (mesh.code, mesh.message, mesh.ref) == (
        "bad-message",
        "this room's call does not go through the media server",
        "media-answer",
    )
    join(hub, B, "old")
    join(hub, C, "quiet", media_server=True, voice=False)
    join(hub, D, "dan", media_server=True)  # the third voice
    old = only_error(send(hub, B, {"type": "media-publish", "sdp": SDP}), B)
    assert (old.message, old.ref) == ("join with media_server true to use the media server", "media-publish")
    quiet = only_error(send(hub, C, {"type": "media-publish", "sdp": SDP}), C)
    assert quiet.message == "turn voice on first: only voices take part in the call"
    assert only_error(send(hub, A, {"type": "media-publish", "sdp": ""}), A).code == "bad-message"


def test_media_requests_spend_the_signal_budget() -> None:
    hub = media_hub(mesh_limit=0, signal_rate_per_s=1.0, chat_rate_per_s=100.0)
    join(hub, A, "ann", media_server=True)
    effects: list[Effect] = []
    for _ in range(5):  # a burst of 4 signals at 1/s
        effects = send(hub, A, {"type": "media-answer", "sdp": SDP})
    assert only_error(effects, A).code == "rate-limited"


def test_voice_off_leave_and_an_empty_room_drop_the_media_side() -> None:
    hub = media_hub(mesh_limit=0)
    join(hub, A, "ann", media_server=True)
    join(hub, B, "bob", media_server=True)
    join(hub, C, "old")
    assert MediaDropped("lobby", PeerId("p1")) in send(hub, A, {"type": "state", "voice": False})
    left = send(hub, C, {"type": "leave"})
    assert media_effects(left) == []  # it never took part
    send(hub, A, {"type": "leave"})
    last = send(hub, B, {"type": "leave"})
    assert media_effects(last) == [MediaDropped("lobby", PeerId("p2")), MediaClosed("lobby")]
    assert hub.media.mode("lobby") is MediaMode.MESH


def test_a_place_in_grace_keeps_its_media_side_until_given_up() -> None:
    hub = media_hub(mesh_limit=0)
    join(hub, A, "ann", media_server=True)
    assert media_effects(hub.closed(A, T0)) == []
    assert hub.conn_of("lobby", PeerId("p1")) is None
    assert media_effects(hub.tick(T0 + GRACE)) == [MediaDropped("lobby", PeerId("p1")), MediaClosed("lobby")]


def test_a_resumed_place_is_told_the_mode_again_and_may_change_its_mind() -> None:
    hub = media_hub(mesh_limit=0)
    first = join(hub, A, "ann", media_server=True)
    hub.closed(A, T0)
    resumed = join_effects(hub, B, "ann", media_server=True, resume=first.resume)
    assert media_effects(resumed) == [MediaResumed("lobby", PeerId("p1"))]  # the offer it missed, again
    again = joined_of(resumed)
    assert (again.resumed, again.media) == (True, MediaMode.SERVER)
    hub.closed(B, T0)
    old = join_effects(hub, C, "ann", resume=again.resume)  # the same place, from an app without it
    assert media_effects(old) == [MediaDropped("lobby", PeerId("p1")), unsupported((C,))]
    error = only_error(send(hub, C, {"type": "media-publish", "sdp": SDP}), C)
    assert error.message == "join with media_server true to use the media server"


def test_janus_lost_small_rooms_fall_back_to_the_mesh_and_big_ones_wait_for_it() -> None:
    hub = media_hub()
    for conn, name in ((A, "ann"), (B, "bob"), (C, "cid")):
        join(hub, conn, name, "small", media_server=True)  # switched at cid, the third voice
    send(hub, C, {"type": "state", "voice": False})  # 2 voices: small enough, yet on the server
    join(hub, D, "dan", "big", media_server=True)
    join(hub, E, "eve", "big", media_server=True)
    join_effects(hub, ConnId(6), "old", "big")  # the third voice, from an app without the media server
    assert hub.media_lost() == [
        failed((D, E), UNREACHABLE, "big"),
        switched((A, B, C), MediaMode.MESH, "small"),
    ]
    assert hub.media.mode("small") is MediaMode.MESH
    assert hub.media_lost() == []  # each failed reconnection reports it again
    refused = only_error(send(hub, D, {"type": "media-publish", "sdp": SDP}), D)
    assert (refused.code, refused.message, refused.ref) == ("media-failed", UNREACHABLE, "media-publish")
    assert hub.media_reached() == [switched((D, E), MediaMode.SERVER, "big")]  # it publishes anew
    assert hub.media.mode("small") is MediaMode.MESH  # until it grows past the limit again
    assert media_effects(send(hub, C, {"type": "state", "voice": True})) == [
        switched((A, B, C), MediaMode.SERVER, "small")
    ]


def test_a_room_that_grows_while_janus_is_lost_stays_a_mesh_and_switches_when_it_is_back() -> None:
    hub = media_hub()
    hub.media_lost()
    join(hub, A, "ann", media_server=True)
    join(hub, B, "old")
    assert media_effects(join_effects(hub, C, "cid", media_server=True)) == [failed((A, C), over_limit(2))]
    assert hub.media.mode("lobby") is MediaMode.MESH
    assert media_effects(join_effects(hub, D, "dan", media_server=True)) == []  # told once
    assert hub.media_reached() == [switched((A, C, D), MediaMode.SERVER), unsupported((B,))]


def test_a_waiting_room_that_shrinks_falls_back_and_one_that_empties_is_forgotten() -> None:
    hub = media_hub()
    for conn, name in ((A, "ann"), (B, "bob"), (C, "cid")):
        join(hub, conn, name, media_server=True)
    hub.media_lost()
    left = send(hub, C, {"type": "leave"})
    assert media_effects(left) == [MediaDropped("lobby", PeerId("p3")), switched((A, B), MediaMode.MESH)]
    for conn, name in ((D, "dan"), (E, "eve")):
        join(hub, conn, name, "gone", media_server=True)
    join(hub, ConnId(6), "fay", "gone", media_server=True)  # over the limit: told, waits
    for conn in (D, E, ConnId(6)):
        send(hub, conn, {"type": "leave"})
    assert hub.media_reached() == []


def test_while_janus_is_lost_a_mesh_carries_16_voices_and_more_members_may_listen() -> None:
    hub = media_hub(max_room_size=20)
    hub.media_lost()
    for n in range(1, 17):
        join(hub, ConnId(n), f"v{n}", media_server=True)
    full = join_effects(hub, ConnId(17), "late", media_server=True)
    assert only_error(full[:1], ConnId(17)).code == "room-full"
    assert "16 voices peer to peer" in only_error(full[:1], ConnId(17)).message
    ear = join(hub, ConnId(18), "ear", media_server=True, voice=False)
    refused = only_error(send(hub, ConnId(18), {"type": "state", "voice": True}), ConnId(18))
    assert (refused.code, refused.ref) == ("room-full", "state")
    hub.closed(ConnId(18), T0)
    back = join_effects(hub, ConnId(19), "ear", media_server=True, resume=ear.resume)  # with voice on
    assert only_error(back[:1], ConnId(19)).code == "room-full"
    join(hub, ConnId(18), "ear", media_server=True, voice=False, resume=ear.resume)  # listening is fine
    members = tuple(ConnId(n) for n in (*range(1, 17), 18))
    assert hub.media_reached() == [switched(members, MediaMode.SERVER)]  # grew past the limit meanwhile
    assert media_effects(send(hub, ConnId(18), {"type": "state", "voice": True})) == []


def test_a_mesh_limit_past_16_still_stops_the_mesh_at_16_voices() -> None:
    hub = media_hub(mesh_limit=20, max_room_size=30)
    for n in range(1, 17):
        join(hub, ConnId(n), f"v{n}", media_server=True)
    full = only_error(join_effects(hub, ConnId(17), "late", media_server=True)[:1], ConnId(17))
    assert (full.code, full.message) == (
        "room-full",
        "the room's call is full: 16 voices peer to peer; join with voice off",
    )
