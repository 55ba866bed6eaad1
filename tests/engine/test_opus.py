"""The libopus binding, against the real library: what goes in, what comes out."""

import av
import numpy as np
import numpy.typing as npt
import pytest

from client_desktop.engine.opus import (
    OpusDecoder,
    OpusEncoder,
    OpusError,
    OpusLibraryNotFoundError,
    load_library,
    packet_has_fec,
    packet_samples,
)
from client_desktop.engine.pcm import FRAME_SAMPLES, SAMPLE_RATE

from .test_playout import TONE_HZ, TONE_RMS, assert_tone, frame_rms, rms, signal


def frames_of(pcm: npt.NDArray[np.int16]) -> list[npt.NDArray[np.int16]]:
    return [pcm[i : i + FRAME_SAMPLES] for i in range(0, pcm.size - FRAME_SAMPLES + 1, FRAME_SAMPLES)]


def encode_all(encoder: OpusEncoder, pcm: npt.NDArray[np.int16]) -> list[bytes]:
    return [encoder.encode(frame) for frame in frames_of(pcm)]


def decode_all(packets: list[bytes]) -> npt.NDArray[np.int16]:
    with OpusDecoder() as decoder:
        return np.concatenate([decoder.decode(p) for p in packets])


def snr_db(signal_: npt.NDArray[np.int16], reference: npt.NDArray[np.int16]) -> float:
    ref = reference.astype(np.float64)
    return float(10 * np.log10(np.sum(ref**2) / max(np.sum((signal_ - ref) ** 2), 1e-9)))


def test_a_tone_survives_encoding_and_decoding() -> None:
    with OpusEncoder() as encoder:
        packets = encode_all(encoder, signal("tone", 100).astype(np.int16))
    assert all(packet_samples(p) == FRAME_SAMPLES for p in packets)
    out = decode_all(packets)
    assert out.dtype == np.int16
    assert out.shape == (100 * FRAME_SAMPLES,)
    assert_tone(out[FRAME_SAMPLES * 5 :])


def test_float_samples_encode_like_int16_ones() -> None:
    pcm = (signal("tone", 50) / 32768).astype(np.float32)
    with OpusEncoder() as encoder:
        packets = [encoder.encode(frame) for frame in np.split(pcm, 50)]
    assert_tone(decode_all(packets)[FRAME_SAMPLES * 5 :])


def test_the_bitrate_set_at_runtime_changes_packet_sizes() -> None:
    pcm = signal("syllables", 200).astype(np.int16)
    with OpusEncoder(bitrate_bps=16_000) as encoder:
        assert encoder.bitrate_bps == 16_000
        low = encode_all(encoder, pcm[: 100 * FRAME_SAMPLES])
        encoder.set_bitrate(64_000)
        assert encoder.bitrate_bps == 64_000
        high = encode_all(encoder, pcm[100 * FRAME_SAMPLES :])
    low_bytes, high_bytes = np.mean([len(p) for p in low[10:]]), np.mean([len(p) for p in high[10:]])
    assert high_bytes > 2.5 * low_bytes
    assert 8 * low_bytes / 0.020 == pytest.approx(16_000, rel=0.35)
    assert 8 * high_bytes / 0.020 == pytest.approx(64_000, rel=0.35)


@pytest.mark.parametrize(
    ("fec", "loss_pct", "expected"), [(True, 10, True), (False, 10, False), (True, 0, False)]
)
def test_fec_reaches_the_packets_only_when_asked_for_and_loss_is_expected(
    fec: bool, loss_pct: int, expected: bool
) -> None:
    with OpusEncoder(fec=fec, expected_loss_pct=loss_pct) as encoder:
        assert encoder.fec is fec
        packets = encode_all(encoder, signal("syllables", 100).astype(np.int16))
    carrying = sum(map(packet_has_fec, packets))
    assert carrying >= 30 if expected else carrying == 0


def test_decode_fec_rebuilds_a_lost_frame_much_better_than_concealment() -> None:
    with OpusEncoder() as encoder:
        packets = encode_all(encoder, signal("syllables", 100).astype(np.int16))
    reference = decode_all(packets)
    lost = next(i for i in range(60, 100) if packet_has_fec(packets[i + 1]))
    original = reference[lost * FRAME_SAMPLES : (lost + 1) * FRAME_SAMPLES]
    rebuilt, concealed = OpusDecoder(), OpusDecoder()
    for packet in packets[:lost]:
        rebuilt.decode(packet)
        concealed.decode(packet)
    from_fec, from_plc = rebuilt.decode_fec(packets[lost + 1]), concealed.conceal()
    assert snr_db(from_fec, original) >= 15.0
    assert snr_db(from_fec, original) >= snr_db(from_plc, original) + 6.0
    assert abs(20 * np.log10(rms(from_fec) / rms(original))) <= 1.0
    # The stream goes on from the next packet as usual.
    after = rebuilt.decode(packets[lost + 1])
    assert rms(after) >= 0.7 * rms(reference[(lost + 1) * FRAME_SAMPLES : (lost + 2) * FRAME_SAMPLES])
    rebuilt.close()
    concealed.close()


def test_concealment_continues_the_signal_then_fades() -> None:
    with OpusEncoder() as encoder:
        packets = encode_all(encoder, signal("tone", 50).astype(np.int16))
    with OpusDecoder() as decoder:
        for packet in packets:
            decoder.decode(packet)
        levels = [rms(decoder.conceal()) for _ in range(6)]
    assert levels[0] > 0.2 * TONE_RMS
    assert levels[-1] < levels[0]


def stereo_packets(frames: int) -> list[bytes]:
    """What stock aiortc sends: PyAV's libopus, stereo, 96 kbit/s. Left 440 Hz, right 440 Hz quieter."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format, codec.bit_rate = SAMPLE_RATE, "stereo", "s16", 96_000
    mono = signal("tone", frames).astype(np.int16)
    left_right = np.stack([mono, (mono * 0.5).astype(np.int16)], axis=1).reshape(1, -1)
    out: list[bytes] = []
    for i, chunk in enumerate(np.split(left_right, frames, axis=1)):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="s16", layout="stereo")
        frame.sample_rate, frame.pts = SAMPLE_RATE, i * FRAME_SAMPLES
        out += [bytes(packet) for packet in codec.encode(frame)]
    return out


def test_the_mono_decoder_takes_stereo_packets() -> None:
    packets = stereo_packets(60)
    assert len(packets) >= 50
    assert all(p[0] & 0x04 for p in packets)  # the TOC says stereo
    out = decode_all(packets)
    assert out.shape == (len(packets) * FRAME_SAMPLES,)
    steady = out[FRAME_SAMPLES * 5 :]
    assert abs(np.argmax(np.abs(np.fft.rfft(steady))) * SAMPLE_RATE / steady.size - TONE_HZ) <= 2.0
    # libopus downmixes as the average of both channels: (1 + 0.5) / 2 of the tone.
    assert abs(20 * np.log10(rms(steady) / (0.75 * TONE_RMS))) <= 3.0
    assert frame_rms(steady).min() > 0.5 * TONE_RMS
    assert not any(map(packet_has_fec, packets))  # CELT-only packets carry no FEC


def test_dtx_shrinks_silence_to_a_byte() -> None:
    silence = np.zeros(FRAME_SAMPLES, dtype=np.int16)
    with OpusEncoder(dtx=True) as encoder:
        sizes = [len(encoder.encode(silence)) for _ in range(30)]
    assert sizes[-5:] == [1] * 5


def test_bad_input_and_refusals_are_precise_errors() -> None:
    encoder, decoder = OpusEncoder(), OpusDecoder()
    with pytest.raises(ValueError, match="960"):
        encoder.encode(np.zeros(480, dtype=np.int16))
    with pytest.raises(TypeError, match="int16 or float32"):
        encoder.encode(np.zeros(FRAME_SAMPLES, dtype=np.float64))  # type: ignore[arg-type]
    with pytest.raises(OpusError, match="invalid argument") as refused:
        OpusEncoder(complexity=11)
    assert refused.value.code == -1
    with pytest.raises(OpusError, match="corrupted stream"):
        decoder.decode(b"\x7b\x41\xff\xff")
    with pytest.raises(OpusError, match="480 samples"):
        decoder.decode(b"\x00" * 30)
    with pytest.raises(OpusError, match="empty"):
        decoder.decode(b"")
    assert decoder.conceal().shape == (FRAME_SAMPLES,)  # a refused packet left the state usable
    encoder.close()
    encoder.close()
    decoder.close()
    with pytest.raises(OpusError, match="closed"):
        encoder.encode(np.zeros(FRAME_SAMPLES, dtype=np.int16))
    with pytest.raises(OpusError, match="closed"):
        decoder.conceal()


def test_a_missing_library_names_the_package_to_install() -> None:
    with pytest.raises(OpusLibraryNotFoundError, match="libopus0"):
        load_library(lambda name: None)
    with pytest.raises(OpusLibraryNotFoundError, match="libopus0"):
        load_library(lambda name: "/nonexistent/libopus.so.0")
