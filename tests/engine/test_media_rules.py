"""The call path's core (``media_rules.MediaRules``): mode, voice and a float clock in, exact actions out."""

from client_desktop.engine.media_rules import (
    RETIRE_AFTER_S,
    CloseMedia,
    CloseMesh,
    MediaRules,
    OpenMesh,
    Publish,
    RetireMesh,
)
from protocol import MediaMode

MESH, SERVER = MediaMode.MESH, MediaMode.SERVER
T0 = 100.0


def test_a_mesh_room_opens_the_mesh_and_nothing_of_the_media_server() -> None:
    rules = MediaRules()
    assert rules.joined(MESH, voice=True, resumed=False, now=T0) == [OpenMesh()]
    assert rules.set_voice(False, T0) == []  # the mesh handles its own voice
    assert rules.set_voice(True, T0) == []
    assert rules.get_timer() is None


def test_joining_a_server_room_publishes_only_with_voice() -> None:
    assert MediaRules().joined(SERVER, voice=True, resumed=False, now=T0) == [Publish()]
    listener = MediaRules()
    assert listener.joined(SERVER, voice=False, resumed=False, now=T0) == []
    assert listener.set_voice(True, T0) == [Publish()]
    assert listener.set_voice(False, T0) == [CloseMedia()]
    assert listener.set_voice(True, T0) == [Publish()]  # on again: a new sending connection


def test_a_switch_mid_call_publishes_at_once_and_keeps_the_mesh_until_the_media_carries_the_call() -> None:
    rules = MediaRules()
    rules.joined(MESH, voice=True, resumed=False, now=T0)
    assert rules.mode_changed(SERVER, T0) == [RetireMesh(), Publish()]
    assert rules.get_timer() == T0 + RETIRE_AFTER_S
    assert rules.media_ready(T0 + 0.5) == [CloseMesh()]
    assert rules.get_timer() is None
    assert rules.media_ready(T0 + 0.6) == []
    assert rules.handle_timer(T0 + RETIRE_AFTER_S) == []


def test_the_mesh_closes_after_the_longest_wait_when_the_media_never_carries_the_call() -> None:
    rules = MediaRules()
    rules.joined(MESH, voice=True, resumed=False, now=T0)
    rules.mode_changed(SERVER, T0)
    assert rules.handle_timer(T0 + RETIRE_AFTER_S - 0.01) == []
    assert rules.handle_timer(T0 + RETIRE_AFTER_S) == [CloseMesh()]
    assert rules.get_timer() is None


def test_a_switch_without_our_voice_closes_the_idle_mesh_at_once() -> None:
    rules = MediaRules()
    rules.joined(MESH, voice=False, resumed=False, now=T0)
    assert rules.mode_changed(SERVER, T0) == [RetireMesh(), CloseMesh()]
    assert rules.get_timer() is None


def test_voice_off_while_the_mesh_plays_on_closes_everything() -> None:
    rules = MediaRules()
    rules.joined(MESH, voice=True, resumed=False, now=T0)
    rules.mode_changed(SERVER, T0)
    assert rules.set_voice(False, T0 + 0.1) == [CloseMesh(), CloseMedia()]
    assert rules.get_timer() is None


def test_server_said_again_publishes_again_and_back_to_mesh_closes_the_media() -> None:
    rules = MediaRules()
    rules.joined(SERVER, voice=True, resumed=False, now=T0)
    assert rules.mode_changed(SERVER, T0) == [Publish()]  # e.g. the media server came back
    assert rules.mode_changed(MESH, T0) == [CloseMedia(), OpenMesh()]
    assert rules.mode_changed(MESH, T0) == []


def test_back_to_mesh_while_the_old_mesh_plays_on_closes_it_before_the_new_one_opens() -> None:
    rules = MediaRules()
    rules.joined(MESH, voice=True, resumed=False, now=T0)
    rules.mode_changed(SERVER, T0)
    assert rules.mode_changed(MESH, T0 + 0.1) == [CloseMesh(), CloseMedia(), OpenMesh()]


def test_a_resumed_join_keeps_the_media_and_a_fresh_one_publishes_anew() -> None:
    rules = MediaRules()
    rules.joined(SERVER, voice=True, resumed=False, now=T0)
    rules.published()
    assert rules.joined(SERVER, voice=True, resumed=True, now=T0 + 5) == []
    assert rules.joined(SERVER, voice=True, resumed=False, now=T0 + 30) == [CloseMedia(), Publish()]


def test_a_resumed_join_publishes_again_when_the_last_publish_was_never_answered() -> None:
    rules = MediaRules()
    rules.joined(SERVER, voice=True, resumed=False, now=T0)
    assert rules.joined(SERVER, voice=True, resumed=True, now=T0 + 5) == [Publish()]
    rules.published()
    assert rules.joined(SERVER, voice=True, resumed=True, now=T0 + 10) == []


def test_a_room_that_switched_while_we_were_away_closes_the_mesh_at_once() -> None:
    rules = MediaRules()
    rules.joined(MESH, voice=True, resumed=False, now=T0)
    assert rules.joined(SERVER, voice=True, resumed=True, now=T0 + 5) == [
        RetireMesh(),
        CloseMesh(),
        Publish(),
    ]
    assert rules.get_timer() is None
