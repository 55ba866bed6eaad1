"""The cues: four short chimes told apart by ear, and the engine plays them through its own mixer."""

import numpy as np
import pytest

from client_desktop.engine import cues, events
from client_desktop.engine.cues import Cue
from client_desktop.engine.engine import CaptureSink, Engine, RenderSource
from client_desktop.engine.mixer import Mixer
from client_desktop.engine.pcm import SAMPLE_RATE

from .audio import peaks_hz


def as_pcm(samples: np.ndarray) -> np.ndarray:
    return samples.astype(np.int16)


@pytest.mark.parametrize(
    ("cue", "notes_hz"),
    [
        (Cue.JOIN, [cues.C5, cues.G5]),
        (Cue.LEAVE, [cues.G5, cues.C5]),
        (Cue.MUTE, [cues.A4]),
        (Cue.UNMUTE, [cues.E5]),
    ],
)
def test_each_cue_is_short_and_sounds_its_notes_in_order(cue: Cue, notes_hz: list[float]) -> None:
    sound = cues.samples(cue, 1.0)
    assert 0.1 <= cues.duration_s(cue) <= 0.25
    assert len(sound) == round(cues.duration_s(cue) * SAMPLE_RATE)
    start = 0
    for note in cues.NOTES[cue]:
        end = start + round(note.seconds * SAMPLE_RATE)
        assert peaks_hz(as_pcm(sound[start:end])) == [pytest.approx(note.hz, abs=2)]
        start = end
    assert [note.hz for note in cues.NOTES[cue]] == notes_hz
    assert abs(sound[0]) < 1  # starts and ends at rest: no click
    assert abs(sound[-1]) < 1


def test_volume_scales_and_is_bounded() -> None:
    loudest = cues.PEAK * 32767
    assert np.max(np.abs(cues.samples(Cue.JOIN, 1.0))) == pytest.approx(loudest, rel=1e-3)
    assert np.max(np.abs(cues.samples(Cue.JOIN, 0.25))) == pytest.approx(loudest / 4, rel=1e-3)
    assert np.max(np.abs(cues.samples(Cue.JOIN, 7.0))) == pytest.approx(loudest, rel=1e-3)
    assert not cues.samples(Cue.JOIN, -1.0).any()


class Unstarted:
    """Audio that is never started: the test renders the mixer itself, as the output callback would."""

    def start(self, capture: CaptureSink, render: RenderSource) -> None:
        raise AssertionError("not started in this test")

    async def stop(self) -> None:
        pass


async def test_the_engine_plays_a_cue_through_its_mixer_and_volume_0_plays_nothing() -> None:
    mixer = Mixer()
    seen: list[events.EngineEvent] = []
    engine = Engine("ws://127.0.0.1:9/ws", "den", "ann", Unstarted(), seen.append, mixer=mixer)
    engine.play_cue(Cue.LEAVE, 0.5)
    heard = np.concatenate([mixer.render() for _ in range(15)])
    end = len(cues.samples(Cue.LEAVE, 0.5))
    assert peaks_hz(heard[: end // 3]) == [pytest.approx(cues.G5, abs=2)]
    assert peaks_hz(heard[end // 2 : end]) == [pytest.approx(cues.C5, abs=2)]
    assert not heard[end:].any()
    engine.play_cue(Cue.JOIN, 0.0)
    assert not mixer.render().any()
    assert seen == []
    await engine.close()
