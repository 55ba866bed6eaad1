"""Log lines for people (``text``, the default) or for machines (``json``: one object per line).

A JSON line reads ``{"ts": "2026-12-02T20:21:58.123Z", "level": "warning",
"logger": "voxroom.hub", "msg": "auth failed room=a", "addr": "203.0.113.7"}``:
the fields given as ``extra=`` (``log.warning("auth failed room=%s", room,
extra={"addr": addr})``) follow the four fixed keys, and a traceback comes as
``exc``. The text format appends the same fields as `` addr=203.0.113.7``, so
a structured field is never lost in either format. Only plain values (text,
numbers, booleans, None) are fields; other objects given as ``extra=`` are left out.
"""

import enum
import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO, assert_never

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# What every record carries; anything else on a record came from ``extra=``. taskName is a
# record attribute from Python 3.12 on.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, None, None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class LogFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


def extra_fields(record: logging.LogRecord) -> dict[str, object]:
    """The plain values (text, numbers, booleans) a log call passed as ``extra=``, in order.

    Objects are left out: websockets adds its connection to every record of its own
    (``extra={"websocket": ...}``), a handle and not something to log.
    """
    return {
        k: v
        for k, v in vars(record).items()
        if k not in _RECORD_ATTRIBUTES and (v is None or isinstance(v, str | int | float))
    }


class TextFormatter(logging.Formatter):
    """Today's ``time LEVEL logger message`` line, with the extra fields as ``key=value``."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        fields = "".join(f" {key}={value}" for key, value in extra_fields(record).items())
        return super().formatMessage(record) + fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts`` (UTC, ms), ``level``, ``logger``, ``msg``, the extras, ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            line.setdefault(key, value)  # an extra cannot overwrite the four keys a parser relies on
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line)


def configure(level: str, log_format: LogFormat, stream: TextIO = sys.stderr) -> None:
    """Send the root logger's records at ``level`` and above to ``stream`` in ``log_format``."""
    handler = logging.StreamHandler(stream)
    match log_format:
        case LogFormat.TEXT:
            handler.setFormatter(TextFormatter(TEXT_FORMAT))
        case LogFormat.JSON:
            handler.setFormatter(JsonFormatter())
        case _:
            assert_never(log_format)
    logging.basicConfig(level=level.upper(), handlers=[handler])
