"""Ten ``voxroom-bot`` processes in one room through Janus (issue 12): a room past its mesh, as people run it.

The server runs in this process with ``--mesh-limit 2`` (the ``media_server``
fixture: Janus in a namespace beside this one); the bots are subprocesses, as
in test_bot.py. Three play tones and seven listen muted, each recording what
it hears; once the server has offered every bot every other voice (and had
its answer), they go on for ``RECORD_S`` and are stopped with ^C, as a
person stops one. Janus is asked itself who is in the room: the room is
private with a random id, which the server logs when it creates it ("media
room created"), so the test reads the id from that log line and asks
Janus's VideoRoom ``listparticipants`` with the API secret the server uses.
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client_desktop.engine.media import read_wav
from client_desktop.engine.pcm import Pcm
from protocol import MediaMode
from signaling_server.app import RunningServer
from signaling_server.janus import JanusClient
from signaling_server.media import VIDEOROOM

from ..support.media_site import API_SECRET, MediaServers
from .audio import RATE, band_db, peaks_hz
from .calls import TONE_RMS_DBFS
from .test_bot import BOT
from .test_media_calls import media_server_on

pytestmark = pytest.mark.timeout(240)

ROOM = "guild-night"
TONES = {"ann": 440.0, "ben": 660.0, "cat": 880.0}
LISTENERS = ("dan", "eve", "fay", "gus", "hal", "ida", "jon")
RECORD_S = 7.0
"""How long the bots go on once each has every other voice: then ^C."""
JUDGED_S, JUDGED_END_S = 4.0, 1.5
"""Each recording is judged on ``JUDGED_S`` seconds ending this long before its end (when others leave)."""
JOIN_TIMEOUT_S, LEAVE_TIMEOUT_S = 90.0, 30.0
OFFER, ANSWERED = "media offer room=", "media answered room="
HEARD_DB, OWN_DB = 15.0, 6.0
"""A tone heard stands ``HEARD_DB`` above the spectrum 100 Hz either side; one's own less than ``OWN_DB``."""
PEAK_TOLERANCE_HZ = 10.0
"""Frames lost on a loaded box (gaps of up to 0.4 s were seen) smear a peak by a few hertz."""


@contextlib.asynccontextmanager
async def bots(server: RunningServer, tmp: Path) -> AsyncIterator[dict[str, asyncio.subprocess.Process]]:
    """Every bot started at once, to stay until ^C; each killed at the end if it has not exited by then."""
    common = ["--server", server.url, "--room", ROOM]
    sources = {
        **{name: ["--tone", str(hz)] for name, hz in TONES.items()},
        **{name: ["--mute"] for name in LISTENERS},
    }
    procs: dict[str, asyncio.subprocess.Process] = {}
    try:
        for name, source in sources.items():
            with (tmp / f"{name}.err").open("wb") as err:  # the bot has its own copy
                procs[name] = await asyncio.create_subprocess_exec(
                    *BOT,
                    *common,
                    "--username",
                    name,
                    *source,
                    "--record",
                    str(tmp / f"{name}.wav"),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=err,
                )
        yield procs
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.kill()
        await asyncio.gather(*(proc.wait() for proc in procs.values()))


async def participants(janus_url: str, room: int) -> list[dict[str, object]]:
    """Janus's own list of the VideoRoom's participants."""
    async with await JanusClient.connect(janus_url, api_secret=API_SECRET) as client:
        session = await client.create_session()
        try:
            handle = await session.attach(VIDEOROOM)
            reply = await handle.message({"request": "listparticipants", "room": room})
        finally:
            await session.destroy()
    found: list[dict[str, object]] = reply.data["participants"]
    return found


def logged(caplog: pytest.LogCaptureFixture, *prefixes: str) -> list[tuple[str, dict[str, str]]]:
    """The media shell's log lines starting with one of ``prefixes``: each prefix and ``key=value`` fields."""
    found = []
    for record in caplog.records:
        line = record.getMessage()
        prefix = next((p for p in prefixes if line.startswith(p)), None)
        if record.name == "voxroom.server.media" and prefix is not None:
            found.append((prefix, dict(f.split("=", 1) for f in line.split() if "=" in f)))
    return found


def everyone_hears_everyone(caplog: pytest.LogCaptureFixture, members: int) -> bool:
    """The shell offered each member every other voice and passed its answer on (as it logged)."""
    last: dict[str, tuple[int, bool]] = {}
    """peer → its last offer's streams, and whether it was answered."""
    for prefix, fields in logged(caplog, OFFER, ANSWERED):
        peer = fields["peer"]
        if prefix == OFFER:
            last[peer] = (int(fields["streams"]), False)
        elif peer in last:
            last[peer] = (last[peer][0], True)
    return len(last) == members and all(state == (members - 1, True) for state in last.values())


def hears_tones(heard: Pcm, tones: tuple[float, ...]) -> bool:
    """``tones`` are the strongest peaks, each standing ``HEARD_DB`` out of the spectrum around it.

    Unlike ``tones_in`` it asks for neither the full level nor ±2 Hz: ten bots on two cores lose frames.
    """
    found = sorted(peaks_hz(heard, len(tones)))
    return all(abs(f - hz) <= PEAK_TOLERANCE_HZ for f, hz in zip(found, sorted(tones), strict=True)) and all(
        above_around_db(heard, hz) >= HEARD_DB for hz in tones
    )


def above_around_db(heard: Pcm, hz: float) -> float:
    """How far the band at ``hz`` stands above the bands 100 Hz either side of it."""
    return band_db(heard, hz) - max(band_db(heard, hz - 100), band_db(heard, hz + 100))


async def test_ten_bots_past_the_mesh_limit_hear_every_tone_through_janus(
    media_server: MediaServers, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "voxroom.server.media")
    server = await media_server_on(media_server, mesh_limit=2)
    async with bots(server, tmp_path) as procs:
        async with asyncio.timeout(JOIN_TIMEOUT_S):
            while not everyone_hears_everyone(caplog, len(procs)):
                await asyncio.sleep(0.2)
        ((_, created),) = logged(caplog, "media room created")  # the private room's id, said by the server
        people = await participants(media_server.janus.url, int(created["janus_room"]))
        assert len(people) == len(procs), people  # ten in one Janus room, not a mesh
        assert all(p["publisher"] for p in people), people
        assert server.relay.hub.media.mode(ROOM) is MediaMode.SERVER  # the server's own view
        await asyncio.sleep(RECORD_S)
        for proc in procs.values():
            proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(LEAVE_TIMEOUT_S):
            codes = {name: await proc.wait() for name, proc in procs.items()}
    errors = {name: (tmp_path / f"{name}.err").read_text()[-500:] for name in procs}
    assert codes == dict.fromkeys(procs, 0), errors
    for name in procs:
        heard = read_wav(tmp_path / f"{name}.wav")
        end = len(heard) - int(JUDGED_END_S * RATE)
        heard = heard[end - int(JUDGED_S * RATE) : end]
        others = tuple(hz for other, hz in TONES.items() if other != name)
        assert hears_tones(heard, others), name
        if name in TONES:  # and never its own voice back (a loaded box's glitches are broadband, not a tone)
            assert above_around_db(heard, TONES[name]) < OWN_DB, name
            assert band_db(heard, TONES[name]) < TONE_RMS_DBFS - 20, name
