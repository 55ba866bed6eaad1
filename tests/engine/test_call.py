"""Calls between engines through a real server and real aiortc connections; check what arrived."""

import asyncio
import random
import signal
from collections.abc import Callable

from client_desktop.engine import events
from client_desktop.engine.engine import Engine
from client_desktop.engine.media import Silence, Tone
from client_desktop.engine.mixer import Mixer
from client_desktop.engine.pacer import PacedAudio
from client_desktop.engine.rtp import OnPacket
from client_desktop.engine.uplink import TalkMode
from signaling_server.app import RunningServer

from ..conftest import ServerProcess
from .audio import Recorder, band_db, peaks_hz, rms_db
from .calls import TONE_DBFS, TONE_RMS_DBFS, Bot, BotFactory, connected, until


async def test_two_bots_hear_each_others_tone(bots: BotFactory) -> None:
    a: Bot = await bots("a", Tone(440, TONE_DBFS))
    b: Bot = await bots("b", Tone(660, TONE_DBFS))
    await until(connected(a, b))
    await asyncio.sleep(1.5)
    for bot, hz in ((a, 660), (b, 440)):
        heard = bot.recorder.last(1.0)
        assert abs(peaks_hz(heard)[0] - hz) <= 2
        assert abs(band_db(heard, hz) - TONE_RMS_DBFS) <= 3


async def test_three_bots_each_hear_both_others(bots: BotFactory) -> None:
    tones = {"a": 400.0, "b": 600.0, "c": 900.0}
    trio: list[Bot] = [await bots(n, Tone(hz, TONE_DBFS)) for n, hz in tones.items()]
    await until(connected(*trio))
    await asyncio.sleep(1.5)
    for bot, (name, own) in zip(trio, tones.items(), strict=True):
        heard = bot.recorder.last(1.0)
        others = sorted(hz for n, hz in tones.items() if n != name)
        assert sorted(round(hz) for hz in peaks_hz(heard, 2)) == [round(hz) for hz in others]
        for hz in others:
            assert abs(band_db(heard, hz) - TONE_RMS_DBFS) <= 3
        assert band_db(heard, own) < TONE_RMS_DBFS - 30  # nobody hears themselves


async def test_mute_sends_silence_and_deafen_plays_nothing(bots: BotFactory) -> None:
    a = await bots("a", Tone(440, TONE_DBFS))
    b = await bots("b", Tone(660, TONE_DBFS))
    await until(connected(a, b))
    await asyncio.sleep(1.0)
    a.engine.set_muted(True)
    await asyncio.sleep(0.5)
    mark = b.recorder.mark()
    await asyncio.sleep(1.0)
    assert band_db(b.recorder.since(mark), 440) < -70  # silence arrives while a is muted
    assert any(isinstance(e, events.PeerStateChanged) and e.peer.muted for e in b.log)
    a.engine.set_muted(False)
    b.engine.set_deafened(True)
    await asyncio.sleep(0.5)
    mark_b, mark_a = b.recorder.mark(), a.recorder.mark()
    await asyncio.sleep(1.0)
    assert rms_db(b.recorder.since(mark_b)) < -90  # deafened: nothing played
    assert band_db(a.recorder.since(mark_a), 660) < -70  # and deafen mutes too
    b.engine.set_deafened(False)
    await asyncio.sleep(1.0)
    assert abs(band_db(b.recorder.last(0.5), 440) - TONE_RMS_DBFS) <= 3  # back


async def test_voice_off_closes_calls_with_bye_and_chat_goes_on(bots: BotFactory) -> None:
    a = await bots("a", Tone(440, TONE_DBFS))
    b = await bots("b", Tone(660, TONE_DBFS))
    await until(connected(a, b))
    a.engine.set_voice(False)
    await until(lambda: not b.engine.mesh.connected_peers and not a.engine.mesh.connected_peers)
    await until(lambda: a.engine.mixer.peer_ids == [] and b.engine.mixer.peer_ids == [])
    a.engine.send_chat("still here")
    await until(lambda: (1, "still here") in b.chats())
    a.engine.set_voice(True)  # back in: a offers again
    await until(connected(a, b))
    await asyncio.sleep(1.0)
    assert abs(peaks_hz(b.recorder.last(0.5))[0] - 440) <= 2


async def test_a_peer_that_leaves_is_cleaned_up(bots: BotFactory) -> None:
    a = await bots("a", Tone(440, TONE_DBFS))
    b = await bots("b", Tone(660, TONE_DBFS))
    c = await bots("c", Tone(900, TONE_DBFS))
    await until(connected(a, b, c))
    c_id = c.engine.signaling.self_id
    await c.engine.leave()
    await until(lambda: c_id not in a.engine.mixer.peer_ids and c_id not in b.engine.mixer.peer_ids)
    assert a.engine.mesh.connected_peers == [b.engine.signaling.self_id]
    await asyncio.sleep(1.0)
    assert band_db(a.recorder.last(0.5), 900) < TONE_RMS_DBFS - 40  # c is gone (it was at the tone level)
    assert abs(band_db(a.recorder.last(0.5), 660) - TONE_RMS_DBFS) <= 3


async def test_call_survives_the_server_being_killed_and_restarted(
    server_process: Callable[..., ServerProcess],
) -> None:
    proc = server_process("--grace", "10")
    proc.start()
    made: list[Bot] = []
    for name, hz in (("a", 440.0), ("b", 660.0)):
        recorder = Recorder()
        audio = PacedAudio(Tone(hz, TONE_DBFS), recorder)
        log: list[events.EngineEvent] = []
        engine = Engine(proc.url, "call", name, audio, log.append)
        engine.set_talk_mode(TalkMode.OPEN)
        await engine.start()
        made.append(Bot(engine, recorder, audio, log))
    a, b = made
    try:
        await until(connected(a, b))
        a.engine.send_chat("before")
        await until(lambda: [t for _, t in b.chats()] == ["before"])
        await proc.stop(signal.SIGKILL)
        mark = b.recorder.mark()
        a.engine.send_chat("during")  # typed while the server is down
        await asyncio.sleep(1.0)
        assert abs(band_db(b.recorder.since(mark), 440) - TONE_RMS_DBFS) <= 3  # P2P audio goes on
        await asyncio.to_thread(proc.start)
        await until(lambda: a.engine.signaling.connected and b.engine.signaling.connected, timeout=15)
        await until(lambda: len(b.chats()) == 2)
        a.engine.send_chat("after")
        await until(lambda: len(b.chats()) == 3)
        assert b.chats() == [(1, "before"), (2, "during"), (3, "after")]
        assert connected(a, b)()  # the same calls, never torn down
        rejoins = [e for e in b.log if isinstance(e, events.RoomJoined)]
        assert [e.resumed for e in rejoins] == [False, True]
        assert not [e for e in b.log if isinstance(e, events.CallStateChanged) and e.state == "closed"]
    finally:
        await asyncio.gather(*(bot.engine.close() for bot in made), return_exceptions=True)


class LossyMixer(Mixer):
    """A mixer behind a bad network: drops and delays (so reorders) packets on arrival."""

    def __init__(self, loss: float, jitter_s: float, seed: int = 7) -> None:
        super().__init__()
        self.loss, self.jitter_s = loss, jitter_s
        self.blackout = False
        self._random = random.Random(seed)

    def input_for(self, peer_id: str) -> OnPacket:
        push = super().input_for(peer_id)
        loop = asyncio.get_running_loop()

        def lossy(seq: int, timestamp: int, payload: bytes) -> None:
            if self.blackout or self._random.random() < self.loss:
                return
            loop.call_later(self._random.uniform(0, self.jitter_s), push, seq, timestamp, payload)

        return lossy


async def lossy_pair(server: RunningServer, mixer: LossyMixer) -> tuple[Engine, Engine, Recorder]:
    recorder = Recorder()
    sender = Engine(server.url, "call", "sender", PacedAudio(Tone(440, TONE_DBFS)), lambda e: None)
    receiver = Engine(
        server.url, "call", "receiver", PacedAudio(Silence(), recorder), lambda e: None, mixer=mixer
    )
    for engine in (sender, receiver):
        engine.set_talk_mode(TalkMode.OPEN)
        await engine.start()
    await until(lambda: bool(receiver.mesh.connected_peers))
    return sender, receiver, recorder


async def test_tone_stays_continuous_at_5_percent_loss_and_30_ms_jitter(server: RunningServer) -> None:
    mixer = LossyMixer(loss=0.05, jitter_s=0.030)
    sender, receiver, recorder = await lossy_pair(server, mixer)
    try:
        await asyncio.sleep(1.0)
        mark = recorder.mark()
        await asyncio.sleep(4.0)
        heard = recorder.since(mark)
        frames = [rms_db(f) for f in recorder.frames[mark:]]
        assert abs(peaks_hz(heard)[0] - 440) <= 2
        # No dropout: a lost frame is rebuilt (FEC) or concealed, never silence. libopus 1.3's
        # concealment of a pure tone comes out ~9 dB low, hence the allowance for those frames.
        assert min(frames) > TONE_RMS_DBFS - 30
        assert sum(abs(f - TONE_RMS_DBFS) <= 3 for f in frames) >= 0.8 * len(frames)
    finally:
        await asyncio.gather(sender.close(), receiver.close())


async def test_playout_delay_returns_to_its_floor_after_a_loss_burst(server: RunningServer) -> None:
    mixer = LossyMixer(loss=0.0, jitter_s=0.0)
    sender, receiver, _ = await lossy_pair(server, mixer)
    try:
        peer = receiver.mesh.connected_peers[0]
        await asyncio.sleep(1.0)
        floor_ms = mixer.stats(peer).delay_ms
        mixer.blackout = True
        await asyncio.sleep(0.3)
        mixer.blackout = False
        await asyncio.sleep(2.0)
        assert mixer.stats(peer).delay_ms <= floor_ms + 10.0
    finally:
        await asyncio.gather(sender.close(), receiver.close())


async def test_voice_turned_on_at_once_on_both_sides_still_connects(bots: BotFactory) -> None:
    a = await bots("a", Tone(440, TONE_DBFS), voice=False)
    b = await bots("b", Tone(660, TONE_DBFS), voice=False)
    await until(lambda: len(a.engine.signaling.peers) == 1 and len(b.engine.signaling.peers) == 1)
    a.engine.set_voice(True)  # both turn voice on in the same instant: both offer
    b.engine.set_voice(True)
    await until(connected(a, b))
    await asyncio.sleep(1.5)
    assert abs(peaks_hz(a.recorder.last(0.5))[0] - 660) <= 2
    assert abs(peaks_hz(b.recorder.last(0.5))[0] - 440) <= 2
    for bot in (a, b):  # one connection each side, never torn down and rebuilt
        states = [e.state for e in bot.log if isinstance(e, events.CallStateChanged)]
        assert "closed" not in states
        assert len(bot.engine.mesh._links) == 1


async def test_crossed_offers_resolve_to_one_call_the_smaller_ids(bots: BotFactory) -> None:
    a = await bots("a", Tone(440, TONE_DBFS), voice=False)
    b = await bots("b", Tone(660, TONE_DBFS), voice=False)
    a_id, b_id = a.engine.mesh.self_id, b.engine.mesh.self_id
    a.engine.set_voice(True)
    b.engine.set_voice(True)
    await until(
        lambda: a.engine.mesh._peer_voice.get(b_id) is True and b.engine.mesh._peer_voice.get(a_id) is True
    )
    a.engine.mesh._post(b_id, {"kind": "_offer"})  # both offer in the same instant: the offers cross
    b.engine.mesh._post(a_id, {"kind": "_offer"})
    await until(connected(a, b))
    smaller, larger = (a, b) if a_id < b_id else (b, a)
    assert smaller.engine.mesh._links[larger.engine.mesh.self_id].offerer  # its offer won
    assert not larger.engine.mesh._links[smaller.engine.mesh.self_id].offerer
    await asyncio.sleep(1.0)
    assert abs(peaks_hz(a.recorder.last(0.5))[0] - 660) <= 2
    assert abs(peaks_hz(b.recorder.last(0.5))[0] - 440) <= 2
