"""Log lines in both formats, with the fields given as ``extra=``; and the real server's JSON log."""

import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from signaling_server.logs import TEXT_FORMAT, JsonFormatter, TextFormatter

from .conftest import ServerProcess


def _record(**extra: object) -> logging.LogRecord:
    """What ``log.warning("auth failed room=%s", "a", extra=extra)`` hands its handlers."""
    log = logging.getLogger("voxroom.hub")
    return log.makeRecord(
        log.name, logging.WARNING, "hub.py", 1, "auth failed room=%s", ("a",), None, extra=extra
    )


def test_json_lines_carry_the_extra_fields_as_keys() -> None:
    record = _record(addr="203.0.113.7", attempts=3)
    record.created = 1_796_228_518.123_4
    line = JsonFormatter().format(record)
    assert json.loads(line) == {
        "ts": "2026-12-02T16:21:58.123Z",
        "level": "warning",
        "logger": "voxroom.hub",
        "msg": "auth failed room=a",
        "addr": "203.0.113.7",
        "attempts": 3,
    }
    assert line.startswith('{"ts": "2026-12-02T16:21:58.123Z", "level": "warning", "logger": "voxroom.hub",')
    assert "\n" not in line


def test_an_extra_cannot_overwrite_a_fixed_key_and_objects_are_left_out() -> None:
    """websockets puts its connection on its records as ``extra={"websocket": ...}``."""
    record = _record(level="spoofed", websocket=object(), ok=True, none=None)
    fields = json.loads(JsonFormatter().format(record))
    del fields["ts"]
    assert fields == {
        "level": "warning",
        "logger": "voxroom.hub",
        "msg": "auth failed room=a",
        "ok": True,
        "none": None,
    }
    assert (
        TextFormatter(TEXT_FORMAT)
        .format(record)
        .endswith("auth failed room=a level=spoofed ok=True none=None")
    )


def test_a_traceback_stays_on_its_json_line() -> None:
    try:
        raise RuntimeError("disk gone")
    except RuntimeError:
        record = logging.LogRecord("voxroom.store", logging.ERROR, "", 0, "failed", None, sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert json.loads(line)["exc"].endswith("RuntimeError: disk gone")


def test_text_lines_append_the_extra_fields() -> None:
    line = TextFormatter(TEXT_FORMAT).format(_record(addr="203.0.113.7"))
    assert line.endswith(" WARNING voxroom.hub auth failed room=a addr=203.0.113.7")
    assert TextFormatter(TEXT_FORMAT).format(_record()).endswith("auth failed room=a")


def test_the_server_reads_its_config_file_and_logs_json(
    tmp_path: Path, server_process: Callable[..., ServerProcess]
) -> None:
    """What an operator runs: settings and the password from files, a JSON log on stderr."""
    (tmp_path / "password").write_text("s3cret\n")
    (tmp_path / "voxroom.toml").write_text(
        f'log-format = "json"\npassword-file = "{tmp_path / "password"}"\n'
    )
    proc = server_process("--config", str(tmp_path / "voxroom.toml"))
    proc.start()
    assert proc.health()["status"] == "ok"
    lines = [json.loads(line) for line in proc.kill(signal.SIGTERM).decode().splitlines()]
    assert [line["msg"] for line in lines if line["logger"] == "voxroom.server"][-1] == "stopped"
    assert all(set(line) >= {"ts", "level", "logger", "msg"} for line in lines)
    assert "s3cret" not in proc.log_path.read_text()


def test_a_missing_password_file_stops_the_server_with_a_message(
    server_process: Callable[..., ServerProcess],
) -> None:
    proc = server_process("--password-file", "/nonexistent/password")
    with pytest.raises(RuntimeError, match="--password-file: cannot read /nonexistent/password"):
        proc.start()
