"""The capture side: what goes out under each talk mode, mute, and voice processing."""

import asyncio

import numpy as np

from client_desktop.engine.media import Silence, Tone
from client_desktop.engine.mixer import Mixer
from client_desktop.engine.opus import OpusDecoder, OpusEncoder
from client_desktop.engine.pcm import FRAME_SAMPLES
from client_desktop.engine.processing import ProcessingSettings, VoiceProcessor
from client_desktop.engine.rtp import MAX_QUEUED_PACKETS, PacketTrack
from client_desktop.engine.uplink import PAUSE_KEEPALIVE_FRAMES, PAUSE_TAIL_FRAMES, TalkMode, Uplink

from .audio import band_db, rms_db

CROSSING_S = 1.0
"""Deadline for a packet to cross from ``Uplink.process`` to the track, as aiortc would pull it."""


async def received(track: PacketTrack) -> bytes:
    return bytes(await asyncio.wait_for(track.recv(), CROSSING_S))


async def sent(uplink: Uplink, track: PacketTrack, frames: list[np.ndarray]) -> list[float]:
    """Feed frames (no more than the track keeps); the level (dBFS) of each decoded packet sent."""
    assert len(frames) <= MAX_QUEUED_PACKETS
    decoder = OpusDecoder()
    for frame in frames:
        uplink.process(frame)
    return [rms_db(decoder.decode(bytes(packet))) for packet, _ in await drained(track)]


async def drained(track: PacketTrack) -> list[tuple[bytes, int]]:
    """Every packet (payload, pts) the uplink has handed the track so far."""
    await asyncio.sleep(0)  # the loop runs the fan-outs ``process`` scheduled
    packets = []
    while track._queue.qsize():  # what aiortc would pull next
        packet = await track.recv()
        packets.append((bytes(packet), int(packet.pts or 0)))
    return packets


def tone(n: int, hz: float = 440, dbfs: float = -12) -> list[np.ndarray]:
    source = Tone(hz, dbfs)
    return [source.read() for _ in range(n)]


async def test_one_encode_reaches_every_peer_track() -> None:
    tracks = [PacketTrack() for _ in range(3)]
    uplink = Uplink(asyncio.get_running_loop(), lambda: tracks)
    uplink.mode = TalkMode.OPEN
    uplink.process(tone(1)[0])
    packets = [await received(t) for t in tracks]
    assert packets[0] == packets[1] == packets[2]
    assert len(packets[0]) > 10


async def test_voice_activity_opens_on_speech_and_closes_after_the_hangover() -> None:
    track = PacketTrack()
    uplink = Uplink(asyncio.get_running_loop(), lambda: [track])
    uplink.mode = TalkMode.VOICE_ACTIVITY
    quiet = [Silence().read() for _ in range(5)]
    levels = await sent(uplink, track, quiet)
    assert max(levels) < -80
    levels = await sent(uplink, track, tone(4))  # up to 5 packets a track keeps (100 ms)
    assert min(levels[1:]) > -20
    levels = await sent(uplink, track, [Silence().read() for _ in range(3)])
    assert uplink.transmitting  # the hangover keeps the tail of a word
    for _ in range(5):
        await sent(uplink, track, [Silence().read() for _ in range(5)])
    assert not uplink.transmitting
    levels = [x for _ in range(2) for x in await sent(uplink, track, tone(5, dbfs=-60))]
    assert len(levels) == 1  # below the threshold: paused, one keepalive in ten frames
    assert max(levels) < -70


async def test_a_pause_sends_its_tail_then_one_frame_in_ten_with_the_timeline_kept() -> None:
    track = PacketTrack()
    uplink = Uplink(asyncio.get_running_loop(), lambda: [track])
    uplink.mode = TalkMode.PUSH_TO_TALK
    uplink.push_to_talk_pressed = True
    await sent(uplink, track, tone(2))
    uplink.push_to_talk_pressed = False
    pts: list[int] = []
    for _ in range(8):  # 40 frames of pause, five at a time (what a track keeps)
        for frame in tone(5):
            uplink.process(frame)
        pts += [p for _, p in await drained(track)]
    frames = [p // FRAME_SAMPLES for p in pts]
    tail = list(range(2, 2 + PAUSE_TAIL_FRAMES))
    keepalives = list(range(tail[-1] + PAUSE_KEEPALIVE_FRAMES, 42, PAUSE_KEEPALIVE_FRAMES))
    assert frames == tail + keepalives  # frames 2.. are the pause; the skipped ones keep their time
    uplink.push_to_talk_pressed = True
    levels = await sent(uplink, track, tone(3))
    assert len(levels) == 3  # the key pressed again: every frame, at once
    assert min(levels[1:]) > -20


async def test_push_to_talk_and_mute() -> None:
    track = PacketTrack()
    uplink = Uplink(asyncio.get_running_loop(), lambda: [track])
    uplink.mode = TalkMode.PUSH_TO_TALK
    assert max(await sent(uplink, track, tone(3))) < -80  # key up: nothing audible
    uplink.push_to_talk_pressed = True
    assert min((await sent(uplink, track, tone(3)))[1:]) > -20
    uplink.muted = True
    # Mute wins over the key, after the codec's tail (three frames with PyAV's libopus 1.6); the pause
    # sends its own tail (five frames), then holds back.
    levels = await sent(uplink, track, tone(5)) + await sent(uplink, track, tone(5))
    assert len(levels) == PAUSE_TAIL_FRAMES
    assert max(levels[3:]) < -80


def test_noise_suppression_removes_steady_noise_and_can_be_switched_off() -> None:
    rng = np.random.default_rng(1)
    noise = [(rng.normal(0, 0.03, FRAME_SAMPLES) * 32767).astype(np.int16) for _ in range(150)]
    on = VoiceProcessor(
        ProcessingSettings(echo_cancellation=False, noise_suppression=True, auto_gain_control=False)
    )
    off = VoiceProcessor(ProcessingSettings(False, False, False))
    cleaned = np.concatenate([on.capture(f) for f in noise])[-48_000:]
    untouched = np.concatenate([off.capture(f) for f in noise])[-48_000:]
    assert rms_db(untouched) - rms_db(cleaned) > 10
    assert np.array_equal(untouched, np.concatenate(noise)[-48_000:])


def test_echo_cancellation_removes_what_the_speaker_played() -> None:
    settings = ProcessingSettings(echo_cancellation=True, noise_suppression=False, auto_gain_control=False)
    processor = VoiceProcessor(settings)
    far = tone(250, hz=700, dbfs=-20)
    out = []
    for frame in far:
        processor.played(frame)
        echo = (frame.astype(np.int32) // 2).astype(np.int16)  # the room returns it 6 dB down
        out.append(processor.capture(echo))
    heard = np.concatenate(out[-50:])
    assert band_db(heard, 700) < band_db(np.concatenate(far[-50:]), 700) - 6 - 10


def test_mixer_mixes_peers_with_their_gain_and_deafen_silences() -> None:
    now = [0.0]
    mixer = Mixer(clock=lambda: now[0])
    encoder_for = {"low": OpusEncoder(), "high": OpusEncoder()}
    pushes = {"low": mixer.input_for("low"), "high": mixer.input_for("high")}
    sources = {"low": Tone(300, -12), "high": Tone(900, -12)}
    mixer.set_gain("high", 0.5)
    out = []
    for i in range(100):
        for name, push in pushes.items():
            push(i, i * FRAME_SAMPLES, encoder_for[name].encode(sources[name].read()))
        out.append(mixer.render())
        now[0] += 0.02
    heard = np.concatenate(out[-50:])
    assert abs(band_db(heard, 300) - (-15)) <= 1.5
    assert abs(band_db(heard, 900) - (-21)) <= 1.5  # gain 0.5 is -6 dB
    levels = mixer.levels()
    assert abs(levels["low"] - levels["high"]) < 1.5  # levels are before gain: who speaks, not how loud
    mixer.deafened = True
    for i in range(100, 105):
        for name, push in pushes.items():
            push(i, i * FRAME_SAMPLES, encoder_for[name].encode(sources[name].read()))
        assert not mixer.render().any()
        now[0] += 0.02
    mixer.remove("low")
    assert mixer.peer_ids == ["high"]
