"""The mixer plays what arrived, per peer: a peer the server muted is not heard, whatever it sends."""

import numpy as np

from client_desktop.engine.mixer import Mixer
from client_desktop.engine.opus import OpusEncoder
from client_desktop.engine.pcm import FRAME_S, FRAME_SAMPLES, SAMPLE_RATE, SILENCE_DBFS
from client_desktop.engine.rtp import OnPacket

from .audio import band_db


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
