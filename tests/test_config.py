"""Every flag, and each one also as a VOXROOM_* environment variable."""

import tomllib
from pathlib import Path

import pytest

from protocol import IceServer
from signaling_server.config import ServerConfig, parse_args

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_follow_the_spec() -> None:
    config = parse_args([], environ={})
    assert config == ServerConfig()
    assert (config.max_room_size, config.max_connections, config.max_message_bytes) == (16, 10_000, 65_536)
    assert (config.chat_rate_per_s, config.signal_rate_per_s, config.grace_s) == (20.0, 100.0, 15.0)
    assert (config.chat_burst, config.signal_burst) == (40.0, 400.0)
    assert config.port == 8765
    assert config.ice_servers == ()
    assert config.password is None


def test_flags() -> None:
    argv = "--host 127.0.0.2 --port 9000 --data-dir /tmp/x --log-level debug --password pw --tls-cert c.pem"
    argv += " --tls-key k.pem --ice-server stun:a:3478 --ice-server turn:b --max-room-size 8"
    argv += " --max-connections 50 --max-message-bytes 4096 --chat-rate 5 --signal-rate 50 --grace 3"
    config = parse_args(argv.split(), environ={})
    assert config == ServerConfig(
        host="127.0.0.2",
        port=9000,
        data_dir=Path("/tmp/x"),
        log_level="debug",
        password="pw",
        tls_cert=Path("c.pem"),
        tls_key=Path("k.pem"),
        ice_servers=(IceServer(urls=["stun:a:3478"]), IceServer(urls=["turn:b"])),
        max_room_size=8,
        max_connections=50,
        max_message_bytes=4096,
        chat_rate_per_s=5.0,
        signal_rate_per_s=50.0,
        grace_s=3.0,
    )
    assert (config.chat_burst, config.signal_burst) == (10.0, 200.0)  # the bursts follow the rates


def test_environment_variables_and_flags_win() -> None:
    env = {
        "VOXROOM_PORT": "9001",
        "VOXROOM_PASSWORD": "from-env",
        "VOXROOM_ICE_SERVER": "stun:a stun:b",
        "VOXROOM_MAX_ROOM_SIZE": "4",
        "VOXROOM_GRACE": "2.5",
        "VOXROOM_DATA_DIR": "/srv/voxroom",
    }
    config = parse_args([], environ=env)
    assert (config.port, config.password, config.max_room_size, config.grace_s) == (9001, "from-env", 4, 2.5)
    assert config.ice_servers == (IceServer(urls=["stun:a"]), IceServer(urls=["stun:b"]))
    assert config.data_dir == Path("/srv/voxroom")
    assert parse_args(["--port", "9002"], environ=env).port == 9002


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["--port", "http"], {}),
        (["--max-room-size", "0"], {}),
        ([], {"VOXROOM_CHAT_RATE": "-1"}),
        (["--tls-cert", "only.pem"], {}),
        (["--log-level", "loud"], {}),
    ],
)
def test_bad_values_are_refused_with_a_message(
    argv: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv, environ=env)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_version_is_the_one_in_pyproject(capsys: pytest.CaptureFixture[str]) -> None:
    """The installed metadata is read; a stale install (pyproject bumped, not reinstalled) fails here."""
    written = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    with pytest.raises(SystemExit):
        parse_args(["--version"], environ={})
    assert capsys.readouterr().out == f"voxroom-server {written}\n"
    assert ServerConfig().version == written
