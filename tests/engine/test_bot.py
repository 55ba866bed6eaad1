"""``voxroom-bot`` as people run it: a subprocess with files in, files out, clear exit codes."""

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from client_desktop.bot_output import JSON_TYPES, PATH_LINE
from client_desktop.engine.media import read_wav
from signaling_server.app import RunningServer

from ..conftest import ServerFactory
from ..wsclient import Client
from .audio import peaks_hz

BOT = (sys.executable, "-m", "client_desktop.bot")


async def bot(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *BOT, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
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


class JsonBot:
    """A ``voxroom-bot --json`` child: its lines read as they come, its stdin ours to write."""

    def __init__(self, proc: asyncio.subprocess.Process, stderr: Path) -> None:
        self.proc, self.stderr = proc, stderr
        self.seen: list[dict[str, Any]] = []

    async def expect(self, kind: str, timeout_s: float = 20, **fields: Any) -> dict[str, Any]:
        """The next event of ``kind`` whose top-level ``fields`` match, skipping the rest."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout_s):
            while line := await self.proc.stdout.readline():
                event: dict[str, Any] = json.loads(line)  # stdout holds JSON and nothing else
                assert event["type"] in JSON_TYPES, event
                self.seen.append(event)
                if event["type"] == kind and all(event[k] == v for k, v in fields.items()):
                    return event
        raise AssertionError(f"no {kind} in {self.seen}; stderr: {self.stderr.read_text()}")

    async def say(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode())
        await self.proc.stdin.drain()

    async def finish(self) -> int:
        """Read it to its end; its exit code."""
        with contextlib.suppress(AssertionError):
            await self.expect("no-such-type", timeout_s=30)
        return await self.proc.wait()


@contextlib.asynccontextmanager
async def json_bot(tmp_path: Path, *args: str) -> AsyncIterator[JsonBot]:
    """``voxroom-bot --json ARGS``, killed at the end if it still runs."""
    stderr = tmp_path / f"bot-{len(list(tmp_path.glob('bot-*')))}.err"
    with stderr.open("wb") as err:
        pipe = asyncio.subprocess.PIPE
        proc = await asyncio.create_subprocess_exec(
            *BOT, "--json", *args, stdin=pipe, stdout=pipe, stderr=err
        )
    try:
        yield JsonBot(proc, stderr)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_json_lines_say_who_joined_what_they_said_and_how_the_call_goes(
    server: RunningServer, tmp_path: Path
) -> None:
    common = ["--server", server.url, "--room", "json", "--tone", "500"]
    async with json_bot(tmp_path, *common, "--username", "ben", "--duration", "6") as ben:
        joined = await ben.expect("room-joined")
        assert (joined["room"], joined["username"], joined["peers"], joined["resumed"]) == (
            "json",
            "ben",
            [],
            False,
        )
        (code, _, _), arrived = await asyncio.gather(
            bot(*common, "--username", "ann", "--say", "hi from ann", "--duration", "3"),
            ben.expect("peer-arrived"),
        )
        assert code == 0
        ann = arrived["peer"]
        assert ann == {
            "id": ann["id"],
            "username": "ann",
            "muted": False,
            "deafened": False,
            "voice": True,
            "role": "member",
            "server_muted": False,
        }
        chat = await ben.expect("chat-received")
        assert (chat["own"], chat["from_history"]) == (False, False)
        assert chat["chat"] == {
            "id": chat["chat"]["id"],
            "from": ann["id"],
            "username": "ann",
            "text": "hi from ann",
            "ts": chat["chat"]["ts"],
            "nonce": chat["chat"]["nonce"],  # the room sees the sender's nonce too
        }
        assert isinstance(chat["chat"]["id"], int)
        await ben.expect("call-state-changed", peer_id=ann["id"], state="connected")
        stats = await ben.expect("peer-call-stats", peer_id=ann["id"])
        assert stats["path"]["protocol"] == "udp"
        await ben.expect("peer-departed", peer_id=ann["id"])
        levels = await ben.expect("levels-changed")
        assert isinstance(levels["input_dbfs"], float)
        assert await ben.finish() == 0


async def test_each_line_of_stdin_is_sent_as_a_chat_and_its_end_changes_nothing(
    server: RunningServer, tmp_path: Path
) -> None:
    common = ["--server", server.url, "--room", "stdin", "--no-voice", "--duration", "5"]
    async with (
        json_bot(tmp_path, *common, "--username", "ann") as ann,
        json_bot(tmp_path, *common, "--username", "ben") as ben,
    ):
        await asyncio.gather(ann.expect("room-joined"), ben.expect("room-joined"))
        started = time.monotonic()
        await ann.say("after the failover\n\n")  # a blank line is no chat
        mine = await ann.expect("chat-received", own=True)
        theirs = await ben.expect("chat-received")
        assert theirs["chat"] == mine["chat"]
        assert theirs["chat"]["text"] == "after the failover"
        await ann.say("second\nthird")  # the last line needs no newline: the end of input ends it
        assert ann.proc.stdin is not None
        ann.proc.stdin.close()
        later = [(await ben.expect("chat-received"))["chat"] for _ in range(2)]
        assert [(c["id"], c["text"]) for c in later] == [
            (theirs["chat"]["id"] + 1, "second"),
            (theirs["chat"]["id"] + 2, "third"),
        ]
        assert (await ann.finish(), await ben.finish()) == (0, 0)
        assert time.monotonic() - started > 3  # it stayed for its --duration after stdin ended
        assert [e for e in ann.seen if e["type"] == "server-error"] == []


async def test_device_block_sets_the_device_streams_callback_size() -> None:
    """``--device-block`` (what bench/m2e_probe.py varies) reaches the streams; by default the app's."""
    from client_desktop.bot import _audio, parse_args
    from client_desktop.engine.devices import DEFAULT_STREAMS, DeviceAudio, StreamSettings

    common = ["--server", "ws://127.0.0.1:9/ws", "--room", "r", "--username", "u", "--devices"]
    chosen = _audio(parse_args([*common, "--device-block", "480"]), lambda _event: None)
    default = _audio(parse_args(common), lambda _event: None)
    assert isinstance(chosen, DeviceAudio)
    assert isinstance(default, DeviceAudio)
    assert chosen.streams == StreamSettings(480, DEFAULT_STREAMS.latency)
    assert default.streams == DEFAULT_STREAMS
