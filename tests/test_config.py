"""Every flag, and each one also as a VOXROOM_* environment variable."""

from pathlib import Path

import pytest

from signaling_server.config import ServerConfig, parse_args


def test_defaults_follow_the_spec() -> None:
    config = parse_args([], environ={})
    assert config == ServerConfig()
    assert (config.max_room_size, config.max_connections, config.max_message_bytes) == (16, 10_000, 65_536)
    assert (config.chat_rate, config.signal_rate, config.grace_s) == (20.0, 100.0, 15.0)
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
        ice_servers=("stun:a:3478", "turn:b"),
        max_room_size=8,
        max_connections=50,
        max_message_bytes=4096,
        chat_rate=5.0,
        signal_rate=50.0,
        grace_s=3.0,
    )


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
    assert config.ice_servers == ("stun:a", "stun:b")
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


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--version"], environ={})
    assert capsys.readouterr().out.startswith("voxroom-server 0.1.0")
