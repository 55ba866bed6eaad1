"""The mixer plays what arrived, per peer: a peer the server muted is not heard, whatever it sends.

Cues are added to the mix and to nothing else: not to a peer's audio, not to its level.
"""

import numpy as np
import pytest

from client_desktop.engine import cues
from client_desktop.engine.cues import Cue
from client_desktop.engine.mixer import Mixer
from client_desktop.engine.opus import OpusEncoder
from client_desktop.engine.pcm import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE, SILENCE_DBFS
from client_desktop.engine.rtp import OnPacket

from .audio import band_db, peaks_hz


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def tone_frames(hz: float, count: int) -> list[np.ndarray]:
    t = np.arange(count * FRAME_SAMPLES) / SAMPLE_RATE
    samples = (0.25 * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return [samples[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES] for i in range(count)]


def play(mixer: Mixer, clock: Clock, push: OnPacket, packets: list[bytes], first_seq: int) -> np.ndarray:
    """Deliver one packet per 20 ms and render after each: what the speaker would get."""
    out = []
    for i, packet in enumerate(packets):
        seq = first_seq + i
        push(seq, seq * FRAME_SAMPLES, packet)
        clock.now += FRAME_S
        out.append(mixer.render())
    return np.concatenate(out)


def test_a_server_muted_peer_is_not_played_even_if_its_client_keeps_sending() -> None:
    clock = Clock()
    mixer = Mixer(clock)
    push = mixer.input_for("loud")
    with OpusEncoder() as encoder:
        packets = [encoder.encode(frame) for frame in tone_frames(440, 150)]
    heard = play(mixer, clock, push, packets[:50], 0)
    assert band_db(heard[-SAMPLE_RATE // 2 :], 440) > -20  # the tone plays

    mixer.silence("loud", True)
    muted = play(mixer, clock, push, packets[50:100], 50)
    assert band_db(muted, 440) < -90
    assert mixer.levels() == {"loud": SILENCE_DBFS}  # no speaking light either

    mixer.silence("loud", False)
    back = play(mixer, clock, push, packets[100:], 100)
    assert band_db(back[-SAMPLE_RATE // 2 :], 440) > -20


def cue_frames(mixer: Mixer, clock: Clock, count: int) -> np.ndarray:
    out = []
    for _ in range(count):
        clock.now += FRAME_S
        out.append(mixer.render())
    return np.concatenate(out)


def test_a_cue_plays_for_its_length_then_nothing() -> None:
    clock = Clock()
    mixer = Mixer(clock)
    mixer.play(cues.samples(Cue.JOIN, 1.0))
    heard = cue_frames(mixer, clock, 20)  # 400 ms; the cue lasts 220
    end = round(cues.duration_s(Cue.JOIN) * SAMPLE_RATE)
    first, second = heard[: end * 9 // 22], heard[end * 9 // 22 : end]
    assert peaks_hz(first) == [pytest.approx(cues.C5, abs=2)]
    assert peaks_hz(second) == [pytest.approx(cues.G5, abs=2)]
    assert np.max(np.abs(heard)) == pytest.approx(cues.PEAK * 32767, rel=0.01)
    assert not heard[end:].any()  # exactly silent after its length


def test_a_cue_never_changes_the_peers_audio_or_levels() -> None:
    with OpusEncoder() as encoder:
        packets = [encoder.encode(frame) for frame in tone_frames(440, 30)]
    plain_clock, cued_clock = Clock(), Clock()
    plain, cued = Mixer(plain_clock), Mixer(cued_clock)
    for mixer in (plain, cued):
        mixer.set_gain("bob", 0.5)
    plain_push, cued_push = plain.input_for("bob"), cued.input_for("bob")
    before = play(plain, plain_clock, plain_push, packets[:10], 0)
    assert np.array_equal(before, play(cued, cued_clock, cued_push, packets[:10], 0))
    cue = cues.samples(Cue.UNMUTE, 0.8)
    cued.play(cue)
    alone = play(plain, plain_clock, plain_push, packets[10:20], 10)
    both = play(cued, cued_clock, cued_push, packets[10:20], 10)
    assert band_db(alone, 440) > -30  # bob is heard in both
    difference = both.astype(np.float64) - alone
    assert np.max(np.abs(difference[: len(cue)] - cue)) < 2  # bob plus the cue, each cut to int16
    assert not difference[len(cue) :].any()
    assert cued.levels() == plain.levels()  # bob's light is his own; the cue lights nobody


def test_cues_add_up_and_deafened_hears_none() -> None:
    clock = Clock()
    mixer = Mixer(clock)
    mixer.play(cues.samples(Cue.MUTE, 0.5))
    mixer.play(cues.samples(Cue.MUTE, 0.5))
    both = cue_frames(mixer, clock, 10)
    assert np.max(np.abs(both)) == pytest.approx(cues.PEAK * 32767, rel=0.01)
    mixer.play(cues.samples(Cue.MUTE, 1.0))
    mixer.deafened = True
    assert not cue_frames(mixer, clock, 6).any()  # the cue's length, deafened
    mixer.deafened = False
    assert not cue_frames(mixer, clock, 10).any()  # consumed while deafened, not saved for later


def test_a_gain_belongs_to_the_peer_not_to_one_call() -> None:
    with OpusEncoder() as encoder:
        packets = [encoder.encode(frame) for frame in tone_frames(440, 60)]
    clock = Clock()
    mixer = Mixer(clock)
    mixer.set_gain("bob", 0.0)  # remembered for bob before any call with him
    mixer.silence("bob", False)
    quiet = play(mixer, clock, mixer.input_for("bob"), packets[:20], 0)
    assert not quiet.any()
    mixer.remove("bob")  # the call broke and is made again
    again = play(mixer, clock, mixer.input_for("bob"), packets[20:40], 20)
    assert not again.any()
    mixer.forget("bob")  # bob left; a new bob starts at full volume
    fresh = play(mixer, clock, mixer.input_for("bob"), packets[40:], 40)
    assert band_db(fresh[-SAMPLE_RATE // 4 :], 440) > -20
