"""Cues from the app: which events sound, at the volume the settings say, and none when switched off."""

from client_desktop.engine import events
from client_desktop.engine.cues import Cue
from client_desktop.ui.bridge import JoinRequest
from client_desktop.ui.preferences import AudioSettings
from client_desktop.ui.window import MainWindow
from protocol import Peer

from .conftest import Harness
from .fakes import SELF_ID, FakeEngine, peer


def join(harness: Harness, *others: Peer) -> FakeEngine:
    harness.peers = others
    harness.bridge.join(JoinRequest("ws://h:1/ws", "lobby", "alice"))
    return harness.engine


def test_joins_leaves_and_our_mute_sound_at_the_chosen_volume(window: MainWindow, harness: Harness) -> None:
    harness.bridge.settings = AudioSettings(cue_volume=0.3)
    engine = join(harness, peer("bob"))  # bob was there already: only our own arrival sounds
    engine.emit(events.PeerArrived(peer("carl")))
    engine.emit(events.PeerDeparted("id-bob"))
    window.room.calls.mute.click()
    window.room.calls.mute.click()
    engine.emit(events.RoomJoined("lobby", SELF_ID, "alice", (peer("carl"),), True, ()))  # a reconnect
    assert engine.cues == [(cue, 0.3) for cue in (Cue.JOIN, Cue.JOIN, Cue.LEAVE, Cue.MUTE, Cue.UNMUTE)]


def test_a_moderator_muting_us_sounds_once_each_way(window: MainWindow, harness: Harness) -> None:
    engine = join(harness)
    engine.cues.clear()
    me = Peer(SELF_ID, "alice", True, False, True, server_muted=True)
    engine.emit(events.PeerUpdated(me))
    engine.emit(events.PeerUpdated(me))  # the same state again: no second sound
    engine.emit(events.PeerUpdated(Peer(SELF_ID, "alice", False, False, True)))
    engine.emit(events.PeerUpdated(peer("bob", muted=True)))  # someone else's own mute: silent
    assert [cue for cue, _volume in engine.cues] == [Cue.MUTE, Cue.UNMUTE]


def test_switched_off_nothing_sounds(window: MainWindow, harness: Harness) -> None:
    harness.bridge.settings = AudioSettings(cues=False)
    engine = join(harness)
    engine.emit(events.PeerArrived(peer("carl")))
    window.room.calls.mute.click()
    assert engine.cues == []


def test_the_switch_and_volume_are_in_settings_and_remembered(window: MainWindow, harness: Harness) -> None:
    engine = join(harness)
    dialog = window.open_settings()
    assert dialog.cues.isChecked()
    assert dialog.cue_volume.value() == 50
    dialog.cue_volume.setValue(20)
    assert dialog.cue_volume_value.text() == "20%"
    dialog.cues.setChecked(False)
    assert not dialog.cue_volume.isEnabled()
    dialog.apply_button.click()
    assert harness.prefs.audio() == AudioSettings(cues=False, cue_volume=0.2)
    engine.emit(events.PeerArrived(peer("carl")))
    assert engine.cues == [(Cue.JOIN, 0.5)]  # our own arrival, before the switch
    dialog.cues.setChecked(True)
    dialog.apply_button.click()
    engine.emit(events.PeerDeparted("id-carl"))
    assert engine.cues[-1] == (Cue.LEAVE, 0.2)
