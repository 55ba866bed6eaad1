"""``voxroom-bot`` as people run it: a subprocess with files in, files out, clear exit codes."""

import asyncio
import sys
from pathlib import Path

from client_desktop.bot import PATH_LINE
from client_desktop.engine.media import read_wav
from signaling_server.app import RunningServer

from ..conftest import ServerFactory
from ..wsclient import Client
from .audio import peaks_hz


async def bot(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "client_desktop.bot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_two_bots_record_each_other_and_print_chat(server: RunningServer, tmp_path: Path) -> None:
    common = ["--server", server.url, "--room", "studio", "--duration", "4"]
    (code_a, _, _), (code_b, out_b, _) = await asyncio.gather(
        bot(
            *common,
            "--username",
            "ann",
            "--tone",
            "500",
            "--record",
            str(tmp_path / "ann.wav"),
            "--say",
            "hi from ann",
        ),
        bot(*common, "--username", "ben", "--tone", "700", "--record", str(tmp_path / "ben.wav")),
    )
    assert (code_a, code_b) == (0, 0)
    assert "ann: hi from ann" in out_b
    for name, hz in (("ann", 700), ("ben", 500)):
        heard = read_wav(tmp_path / f"{name}.wav")
        assert len(heard) > 48_000 * 3
        assert abs(peaks_hz(heard[-48_000:])[0] - hz) <= 2


async def test_play_a_wav_file(server: RunningServer, tmp_path: Path) -> None:
    from client_desktop.engine.media import Tone, WavWriter

    tone = WavWriter(tmp_path / "in.wav")
    source = Tone(300)
    for _ in range(50 * 5):
        tone.write(source.read())
    tone.close()
    common = ["--server", server.url, "--room", "files", "--duration", "4"]
    (code_a, _, _), (code_b, _, _) = await asyncio.gather(
        bot(*common, "--username", "player", "--play", str(tmp_path / "in.wav")),
        bot(*common, "--username", "listener", "--record", str(tmp_path / "out.wav")),
    )
    assert (code_a, code_b) == (0, 0)
    assert abs(peaks_hz(read_wav(tmp_path / "out.wav")[-48_000 * 2 :])[0] - 300) <= 2


async def test_exit_codes_say_what_went_wrong(make_server: ServerFactory) -> None:
    server = await make_server(password="pw")
    code, _, err = await bot("--server", server.url, "--room", "r", "--username", "x", "--password", "no")
    assert code == 3
    assert "password" in err
    code, _, err = await bot("--server", "ws://127.0.0.1:9/ws", "--room", "r", "--username", "x")
    assert code == 4
    assert "refused" in err
    code, _, err = await bot("--server", server.url, "--room", "bad room", "--username", "x")
    assert code == 2
    code, _, err = await bot("--room", "r")
    assert code == 2
    assert "--server" in err


async def test_a_moderator_bot_kicks_someone_by_name(make_server: ServerFactory) -> None:
    server = await make_server(admin_password="b0ss")
    bob = await Client.open(server.url)
    b = await bob.join(room="den", username="Bob")
    common = ["--server", server.url, "--room", "den", "--no-voice", "--duration", "1"]
    code, out, _ = await bot(*common, "--username", "mia", "--admin-password", "b0ss", "--kick", "bob:spam")
    assert code == 0
    assert "* mia kicked Bob: spam" in out
    notice = await bob.expect("moderated", skip=("peer-joined",))
    assert (notice["action"], notice["target"], notice["reason"]) == ("kick", b["self"]["id"], "spam")
    assert await bob.closed() == (4001, "kicked")
    code, _, err = await bot(*common, "--username", "mia", "--admin-password", "b0ss", "--kick", "nobody")
    assert code == 2
    assert "nobody named 'nobody' is in the room" in err
    code, _, err = await bot(*common, "--username", "max", "--lock")
    assert code == 0
    assert "only moderators may do that" in err


async def test_each_call_path_is_printed_when_it_connects_and_at_the_end(server: RunningServer) -> None:
    common = ["--server", server.url, "--room", "paths", "--tone", "500"]
    (code_a, out_a, _), (code_b, out_b, _) = await asyncio.gather(
        bot(*common, "--username", "ann", "--duration", "5"),
        bot(*common, "--username", "ben", "--duration", "3"),  # leaves first: ann is still in its call
    )
    assert (code_a, code_b) == (0, 0)
    for out, other, count in ((out_a, "ben", 1), (out_b, "ann", 2)):
        lines = [m for line in out.splitlines() if (m := PATH_LINE.fullmatch(line))]
        assert len(lines) == count, out  # on connecting, and at the end if the call is still on
        for line in lines:
            assert (line["name"], line["route"], line["protocol"]) == (other, "direct", "udp"), out
            assert (line["local"], line["remote"]) == ("host", "host"), out
    assert lines[-1]["rtt_ms"] is not None, out_b  # reports have been exchanged by the end
