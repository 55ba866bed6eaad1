"""Calls between engines through a real server and real aiortc connections; check what arrived.

No test sleeps to let things settle: each waits, with a deadline, for what it
expects (an event, a state, or a tone in the audio its bot's clock renders).
"""

import asyncio
import random
import signal
from collections.abc import Callable
from pathlib import Path

from client_desktop.engine import events
from client_desktop.engine.call_rules import CallTiming
from client_desktop.engine.call_stats import CandidateType, TransportProtocol
from client_desktop.engine.engine import Engine
from client_desktop.engine.media import Silence, Tone
from client_desktop.engine.mixer import Mixer
from client_desktop.engine.pacer import PacedAudio
from client_desktop.engine.rtp import OnPacket
from client_desktop.engine.uplink import TalkMode
from signaling_server.app import RunningServer

from ..conftest import ServerProcess
from ..support.server import in_process_server
from ..wsclient import Client
from .audio import Recorder, band_db, rms_db
from .calls import TONE_DBFS, TONE_RMS_DBFS, Bot, BotFactory, connected, record, states, tones_in, until


async def test_two_bots_hear_each_others_tone(bots: BotFactory) -> None:
    a: Bot = await bots("a", Tone(440, TONE_DBFS))
    b: Bot = await bots("b", Tone(660, TONE_DBFS))
    await until(connected(a, b))
    for bot, hz in ((a, 660.0), (b, 440.0)):
        await bot.hears(hz)
        assert tones_in(await bot.record(1.0), (hz,))  # and it stays so


async def test_three_bots_each_hear_both_others(bots: BotFactory) -> None:
    tones = {"a": 400.0, "b": 600.0, "c": 900.0}
    trio: list[Bot] = [await bots(n, Tone(hz, TONE_DBFS)) for n, hz in tones.items()]
    await until(connected(*trio))
    for bot, (name, own) in zip(trio, tones.items(), strict=True):
        others = tuple(hz for n, hz in tones.items() if n != name)
        await bot.hears(*others, seconds=1.0)
        heard = await bot.record(1.0)
        assert tones_in(heard, others)
        assert band_db(heard, own) < TONE_RMS_DBFS - 30  # nobody hears themselves


async def test_mute_sends_silence_and_deafen_plays_nothing(bots: BotFactory) -> None:
    a = await bots("a", Tone(440, TONE_DBFS))
    b = await bots("b", Tone(660, TONE_DBFS))
    await until(connected(a, b))
    await b.hears(440)
    a.engine.set_muted(True)
    await until(lambda: any(isinstance(e, events.PeerUpdated) and e.peer.muted for e in b.log))
    await b.heard_until(lambda heard: band_db(heard, 440) < -70)
    assert band_db(await b.record(1.0), 440) < -70  # silence arrives while a is muted
    a.engine.set_muted(False)
    b.engine.set_deafened(True)
    await b.heard_until(lambda heard: rms_db(heard) < -90)
    await a.heard_until(lambda heard: band_db(heard, 660) < -70)
    b_heard, a_heard = await asyncio.gather(b.record(1.0), a.record(1.0))
    assert rms_db(b_heard) < -90  # deafened: nothing played
    assert band_db(a_heard, 660) < -70  # and deafen mutes too
    b.engine.set_deafened(False)
    await b.hears(440)  # back


async def test_voice_off_closes_calls_with_bye_and_chat_goes_on(bots: BotFactory) -> None:
    a = await bots("a", Tone(440, TONE_DBFS))
    b = await bots("b", Tone(660, TONE_DBFS))
    await until(connected(a, b))
    a_id, b_id = a.engine.self_id, b.engine.self_id
    assert a_id is not None
    assert b_id is not None
    a.engine.set_voice(False)
    await until(lambda: not b.engine.connected_peers and not a.engine.connected_peers)
    await until(lambda: a.engine.playout_stats(b_id) is None and b.engine.playout_stats(a_id) is None)
    a.engine.send_chat("still here")
    await until(lambda: (1, "still here") in b.chats())
    a.engine.set_voice(True)  # back in: a offers again
    await until(connected(a, b))
    await b.hears(440)


async def test_a_peer_that_leaves_is_cleaned_up(bots: BotFactory) -> None:
    a = await bots("a", Tone(440, TONE_DBFS))
    b = await bots("b", Tone(660, TONE_DBFS))
    c = await bots("c", Tone(900, TONE_DBFS))
    await until(connected(a, b, c))
    c_id = c.engine.self_id
    assert c_id is not None
    await c.engine.leave()
    await until(lambda: a.engine.playout_stats(c_id) is None and b.engine.playout_stats(c_id) is None)
    assert a.engine.connected_peers == [b.engine.self_id]
    await a.heard_until(lambda heard: band_db(heard, 900) < TONE_RMS_DBFS - 40)  # c is gone
    assert tones_in(await a.record(0.5), (660.0,))


async def test_call_stats_name_the_path_and_the_playout(bots: BotFactory) -> None:
    a = await bots("a", Tone(440, TONE_DBFS))
    b = await bots("b", Tone(660, TONE_DBFS))
    await until(connected(a, b))
    await a.hears(660)
    (row,) = await a.engine.call_stats()
    assert (row.peer_id, row.state) == (b.engine.self_id, events.CallState.CONNECTED)
    assert row.path is not None  # a loopback call: host candidates over UDP on both sides
    assert (row.path.local, row.path.remote, row.path.protocol) == (
        CandidateType.HOST,
        CandidateType.HOST,
        TransportProtocol.UDP,
    )
    assert row.loss == 0.0
    assert row.jitter_ms is not None
    assert 0.0 <= row.jitter_ms < 50.0
    assert row.playout_delay_ms is not None
    assert 0.0 <= row.playout_delay_ms < 200.0
    # The round trip is unknown (None) until b's receiver report echoes one of a's sender reports.
    async with asyncio.timeout(10):
        while row.rtt_ms is None:
            await asyncio.sleep(0.2)
            (row,) = await a.engine.call_stats()
    assert 0.0 <= row.rtt_ms < 100.0  # loopback


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
        a.engine.send_chat("during")  # typed while the server is down
        assert tones_in(await b.record(1.0), (440.0,))  # P2P audio goes on
        await asyncio.to_thread(proc.start)
        await until(lambda: a.engine.connected and b.engine.connected, timeout=15)
        await until(lambda: len(b.chats()) == 2)
        a.engine.send_chat("after")
        await until(lambda: len(b.chats()) == 3)
        assert b.chats() == [(1, "before"), (2, "during"), (3, "after")]
        assert connected(a, b)()  # the same calls, never torn down
        rejoins = [e for e in b.log if isinstance(e, events.RoomJoined)]
        assert [e.resumed for e in rejoins] == [False, True]
        assert events.CallState.CLOSED not in states(b)
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
    await until(lambda: bool(receiver.connected_peers))
    return sender, receiver, recorder


async def test_tone_stays_continuous_at_5_percent_loss_and_30_ms_jitter(server: RunningServer) -> None:
    mixer = LossyMixer(loss=0.05, jitter_s=0.030)
    sender, receiver, recorder = await lossy_pair(server, mixer)
    try:
        async with asyncio.timeout(10):
            while not tones_in(await record(recorder, 0.5), (440.0,)):
                pass
        mark = recorder.mark()
        heard = await record(recorder, 4.0)
        frames = [rms_db(f) for f in recorder.frames[mark : mark + 200]]
        assert tones_in(heard, (440.0,))
        # No dropout: a lost frame is rebuilt (FEC) or concealed, never silence. libopus 1.3's
        # concealment of a pure tone comes out ~9 dB low, hence the allowance for those frames.
        assert min(frames) > TONE_RMS_DBFS - 30
        assert sum(abs(f - TONE_RMS_DBFS) <= 3 for f in frames) >= 0.8 * len(frames)
    finally:
        await asyncio.gather(sender.close(), receiver.close())


async def test_playout_delay_returns_to_its_floor_after_a_loss_burst(server: RunningServer) -> None:
    mixer = LossyMixer(loss=0.0, jitter_s=0.0)
    sender, receiver, recorder = await lossy_pair(server, mixer)
    try:
        peer = receiver.connected_peers[0]
        await until(lambda: peer in mixer.peer_ids and mixer.stats(peer).played >= 50)  # 1 s of audio
        floor_ms = mixer.stats(peer).delay_ms
        mixer.blackout = True
        await record(recorder, 0.3)  # 300 ms of the audio clock with nothing arriving
        mixer.blackout = False
        await until(lambda: mixer.stats(peer).delay_ms <= floor_ms + 10.0, timeout=3.0)
    finally:
        await asyncio.gather(sender.close(), receiver.close())


async def test_voice_turned_on_at_once_on_both_sides_still_connects(bots: BotFactory) -> None:
    a = await bots("a", Tone(440, TONE_DBFS), voice=False)
    b = await bots("b", Tone(660, TONE_DBFS), voice=False)
    await until(lambda: len(a.engine.peers) == 1 and len(b.engine.peers) == 1)
    a.engine.set_voice(True)  # both turn voice on in the same instant: neither sees the other's yet
    b.engine.set_voice(True)
    await until(connected(a, b))
    await a.hears(660)
    await b.hears(440)
    for bot, other in ((a, b), (b, a)):  # one connection each side, never torn down and rebuilt
        assert events.CallState.CLOSED not in states(bot)
        assert bot.engine.connected_peers == [other.engine.self_id]


async def test_crossed_offers_resolve_to_one_call_the_smaller_ids(bots: BotFactory) -> None:
    at_once = CallTiming(offer_fallback_s=0.0)  # the smaller id offers the moment it sees a voice
    a = await bots("a", Tone(440, TONE_DBFS), voice=False, timing=at_once)
    b = await bots("b", Tone(660, TONE_DBFS), voice=False, timing=at_once)
    await until(lambda: len(a.engine.peers) == 1 and len(b.engine.peers) == 1)
    a_id, b_id = a.engine.self_id, b.engine.self_id
    assert a_id is not None
    assert b_id is not None
    smaller, larger = (a, b) if a_id < b_id else (b, a)
    smaller.engine.set_voice(True)  # alone in the call: nobody to offer to yet
    await until(lambda: larger.engine.peers[smaller.engine.self_id or ""].voice)
    # The larger turns voice on: by rule 3 it offers; the smaller sees its voice and offers at
    # once too, before the larger's offer reaches it. The offers cross; the smaller's must win.
    larger.engine.set_voice(True)
    await until(connected(a, b))
    assert smaller.engine.offerer(larger.engine.self_id or "") is True  # its offer won
    assert larger.engine.offerer(smaller.engine.self_id or "") is False
    assert events.CallState.CLOSED in states(larger)  # its own offer's link was dropped
    await a.hears(660)
    await b.hears(440)


async def test_a_server_muted_engine_sends_silence_until_the_mute_is_lifted(
    bots: BotFactory, tmp_path: Path
) -> None:
    async with in_process_server(tmp_path / "moderated", admin_password="b0ss") as server:
        a = await bots("a", Tone(440, TONE_DBFS), url=server.url)
        b = await bots("b", url=server.url)
        await until(connected(a, b))
        await b.hears(440)
        mod = await Client.open(server.url)
        await mod.join(room="call", username="mod", voice=False, admin_password="b0ss")
        await mod.send({"type": "server-mute", "target": a.engine.self_id, "muted": True})
        await b.heard_until(lambda heard: band_db(heard, 440) < -70)
        assert band_db(await b.record(1.0), 440) < -70
        await mod.send({"type": "server-mute", "target": a.engine.self_id, "muted": False})
        await b.hears(440)
        await asyncio.gather(a.engine.close(), b.engine.close(), mod.close())
