"""Every flag, and each one also as a VOXROOM_* environment variable."""

import tomllib
from pathlib import Path

import pytest

from protocol import IceServer
from signaling_server.addresses import network
from signaling_server.config import FLAGS, ServerConfig, parse_args, parse_command, read_secret
from signaling_server.logs import LogFormat

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
    assert (config.history_days, config.history_max_per_room) == (0, 10_000)  # no age limit


def test_flags() -> None:
    argv = "--host 127.0.0.2 --port 9000 --data-dir /tmp/x --log-level debug --password pw --tls-cert c.pem"
    argv += " --tls-key k.pem --ice-server stun:a:3478 --ice-server turn:b --max-room-size 8"
    argv += " --max-connections 50 --max-message-bytes 4096 --chat-rate 5 --signal-rate 50 --grace 3"
    argv += " --history-days 30 --history-max-per-room 0"
    argv += " --turn-url turn:t:3478 --turn-url turns:t:443?transport=tcp --turn-secret s3cret --turn-ttl 600"
    config = parse_args(argv.split(), environ={})
    assert config == ServerConfig(
        host="127.0.0.2",
        port=9000,
        data_dir=Path("/tmp/x"),
        history_days=30,
        history_max_per_room=0,
        log_level="debug",
        password="pw",
        tls_cert=Path("c.pem"),
        tls_key=Path("k.pem"),
        ice_servers=(IceServer(urls=["stun:a:3478"]), IceServer(urls=["turn:b"])),
        turn_urls=("turn:t:3478", "turns:t:443?transport=tcp"),
        turn_secret="s3cret",
        turn_ttl_s=600,
        max_room_size=8,
        max_connections=50,
        max_message_bytes=4096,
        chat_rate_per_s=5.0,
        signal_rate_per_s=50.0,
        grace_s=3.0,
    )
    assert "s3cret" not in repr(config)
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
        (["--history-days", "-1"], {}),
        ([], {"VOXROOM_HISTORY_MAX_PER_ROOM": "many"}),
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


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_config_file_can_set_every_flag(tmp_path: Path) -> None:
    _write(tmp_path / "pw", "from-file\n")
    _write(tmp_path / "token", "t0ken\n")
    _write(tmp_path / "turn", "tu4n\n")
    _write(tmp_path / "admin", "4dmin\n")
    toml = _write(
        tmp_path / "voxroom.toml",
        f"""
        host = "127.0.0.2"
        port = 9000
        data-dir = "/srv/voxroom"
        database = "postgresql://voxroom:pgs3cret@db.example:5432/voxroom"
        redis = "redis://:r3dis@cache.example:6379/2"
        history-days = 90
        history-max-per-room = 500
        log-level = "debug"
        log-format = "json"
        password-file = "{tmp_path / "pw"}"
        admin-password-file = "{tmp_path / "admin"}"
        tls-cert = "c.pem"
        tls-key = "k.pem"
        trust-proxy = ["10.0.0.0/8", "::1"]
        metrics-token-file = "{tmp_path / "token"}"
        ice-server = ["stun:a:3478", "turn:b"]
        turn-url = ["turn:t:3478", "turn:t:3478?transport=tcp"]
        turn-secret-file = "{tmp_path / "turn"}"
        turn-ttl = 3600
        max-room-size = 8
        max-connections = 50
        max-message-bytes = 4096
        chat-rate = 5
        signal-rate = 50.5
        grace = 3
        """,
    )
    config = parse_args(["--config", str(toml)], environ={})
    assert config == ServerConfig(
        host="127.0.0.2",
        port=9000,
        data_dir=Path("/srv/voxroom"),
        database="postgresql://voxroom:pgs3cret@db.example:5432/voxroom",
        redis="redis://:r3dis@cache.example:6379/2",
        history_days=90,
        history_max_per_room=500,
        log_level="debug",
        log_format=LogFormat.JSON,
        password="from-file",
        admin_password="4dmin",
        tls_cert=Path("c.pem"),
        tls_key=Path("k.pem"),
        trust_proxy=(network("10.0.0.0/8"), network("::1")),
        metrics_token="t0ken",
        ice_servers=(IceServer(urls=["stun:a:3478"]), IceServer(urls=["turn:b"])),
        turn_urls=("turn:t:3478", "turn:t:3478?transport=tcp"),
        turn_secret="tu4n",
        turn_ttl_s=3600,
        max_room_size=8,
        max_connections=50,
        max_message_bytes=4096,
        chat_rate_per_s=5.0,
        signal_rate_per_s=50.5,
        grace_s=3.0,
    )
    assert "t0ken" not in repr(config)
    assert "4dmin" not in repr(config)
    assert "tu4n" not in repr(config)
    assert "pgs3cret" not in repr(config)
    assert "r3dis" not in repr(config)
    keys = {line.split("=")[0].strip() for line in toml.read_text().splitlines() if "=" in line}
    assert keys == {flag.name for flag in FLAGS} - {
        "password",
        "admin-password",
        "metrics-token",
        "turn-secret",
        *MEDIA_FLAGS,  # refused beside redis: test_the_media_server_needs_its_secret_and_no_redis
    }  # the pairs' other halves


@pytest.mark.parametrize(
    ("argv", "env", "port"),
    [
        ([], {}, 8765),
        (["--config", "{toml}"], {}, 1111),
        (["--config", "{toml}"], {"VOXROOM_PORT": "2222"}, 2222),
        (["--config", "{toml}", "--port", "3333"], {"VOXROOM_PORT": "2222"}, 3333),
        ([], {"VOXROOM_CONFIG": "{toml}"}, 1111),
        (["--port", "3333"], {"VOXROOM_CONFIG": "{toml}"}, 3333),
    ],
)
def test_flag_beats_environment_beats_file_beats_default(
    tmp_path: Path, argv: list[str], env: dict[str, str], port: int
) -> None:
    toml = _write(tmp_path / "voxroom.toml", "port = 1111\nmax-room-size = 4\n")
    config = parse_args(
        [a.format(toml=toml) for a in argv], environ={k: v.format(toml=toml) for k, v in env.items()}
    )
    assert config.port == port
    assert config.max_room_size == (4 if "{toml}" in [*argv, *env.values()] else 16)  # the rest stays


def test_a_secret_file_gives_its_first_line(tmp_path: Path) -> None:
    assert read_secret(_write(tmp_path / "a", "s3cret\nsecond line\n")) == "s3cret"
    assert read_secret(_write(tmp_path / "b", "s3cret\r\n")) == "s3cret"
    assert read_secret(_write(tmp_path / "c", " spaced out ")) == " spaced out "  # only the line end goes
    assert parse_args(["--password-file", str(tmp_path / "a")], environ={}).password == "s3cret"
    env = {"VOXROOM_PASSWORD_FILE": str(tmp_path / "a"), "VOXROOM_METRICS_TOKEN_FILE": str(tmp_path / "b")}
    assert (parse_args([], environ=env).password, parse_args([], environ=env).metrics_token) == (
        "s3cret",
    ) * 2


def test_the_admin_password_comes_from_a_flag_the_environment_or_its_file(tmp_path: Path) -> None:
    secret = _write(tmp_path / "admin", "4dmin\n")
    assert parse_args([], environ={}).admin_password is None
    assert parse_args(["--admin-password", "typed"], environ={}).admin_password == "typed"
    assert parse_args([], environ={"VOXROOM_ADMIN_PASSWORD": "env"}).admin_password == "env"
    assert parse_args([], environ={"VOXROOM_ADMIN_PASSWORD_FILE": str(secret)}).admin_password == "4dmin"
    given = ["--admin-password-file", str(secret)]
    assert parse_args(given, environ={"VOXROOM_ADMIN_PASSWORD": "env"}).admin_password == "4dmin"


def test_a_password_and_its_file_are_one_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pw = _write(tmp_path / "pw", "from-file\n")
    toml = _write(tmp_path / "voxroom.toml", f'password-file = "{pw}"\n')
    assert parse_args(["--config", str(toml), "--password", "typed"], environ={}).password == "typed"
    assert parse_args(["--config", str(toml)], environ={"VOXROOM_PASSWORD": ""}).password is None
    assert (
        parse_args(["--password-file", str(pw)], environ={"VOXROOM_PASSWORD": "env"}).password == "from-file"
    )
    with pytest.raises(SystemExit):
        parse_args(["--password", "typed", "--password-file", str(pw)], environ={})
    assert "--password and --password-file: give one" in capsys.readouterr().err


def test_the_turn_secret_comes_from_a_flag_the_environment_or_its_file_like_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = _write(tmp_path / "turn", "from-file\n")
    urls = ["--turn-url", "turn:t:3478"]
    env = {"VOXROOM_TURN_URL": "turn:t:3478 turn:t:3478?transport=tcp", "VOXROOM_TURN_SECRET": "env"}
    config = parse_args([], environ=env)
    assert (config.turn_urls, config.turn_secret, config.turn_ttl_s) == (
        ("turn:t:3478", "turn:t:3478?transport=tcp"),
        "env",
        86_400,
    )
    assert parse_args(["--turn-secret-file", str(secret)], environ=env).turn_secret == "from-file"
    assert parse_args([*urls], environ={"VOXROOM_TURN_SECRET_FILE": str(secret)}).turn_secret == "from-file"
    assert parse_args([*urls, "--turn-secret", "typed"], environ=env).turn_urls == ("turn:t:3478",)
    with pytest.raises(SystemExit):
        parse_args([*urls, "--turn-secret", "typed", "--turn-secret-file", str(secret)], environ={})
    assert "--turn-secret and --turn-secret-file: give one" in capsys.readouterr().err


def test_the_database_is_sqlite_unless_a_postgresql_url_is_given_in_any_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql://voxroom@127.0.0.1:5432/voxroom"
    assert parse_args([], environ={}).database is None
    assert parse_args(["--database", url], environ={}).database == url
    assert parse_args([], environ={"VOXROOM_DATABASE": "postgres://h/db"}).database == "postgres://h/db"
    toml = _write(tmp_path / "voxroom.toml", f'database = "{url}"\n')
    assert parse_args(["--config", str(toml)], environ={}).database == url
    # An empty value unsets a lower source's, as for the password: SQLite again.
    assert parse_args(["--config", str(toml)], environ={"VOXROOM_DATABASE": ""}).database is None
    for wrong in ("mysql://h/db", "/srv/voxroom.db", "127.0.0.1:5432"):
        with pytest.raises(SystemExit):
            parse_args(["--database", wrong], environ={})
        assert "is not a postgresql://USER@HOST:PORT/DATABASE URL" in capsys.readouterr().err


def test_redis_makes_one_of_several_instances_and_needs_the_shared_database(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, database = "redis://127.0.0.1:6379/0", "postgresql://voxroom@127.0.0.1:5432/voxroom"
    assert parse_args(["--database", database], environ={}).redis is None
    env = {"VOXROOM_REDIS": url, "VOXROOM_DATABASE": database}
    assert parse_args([], environ=env).redis == url
    with pytest.raises(SystemExit):
        parse_args(["--redis", url], environ={})
    assert "--redis needs --database" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--redis", "http://127.0.0.1:6379", "--database", database], environ={})
    assert "is not a redis://HOST:PORT/DB URL" in capsys.readouterr().err


MEDIA_FLAGS = {"media-server", "media-secret", "media-secret-file", "mesh-limit"}


def test_the_media_server_needs_its_secret_and_no_redis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "janus").write_text("j4nus\n")
    toml = _write(
        tmp_path / "voxroom.toml",
        f'media-server = "ws://198.18.21.1:8188"\nmedia-secret-file = "{tmp_path / "janus"}"\n'
        "mesh-limit = 0\nmax-room-size = 200\n",
    )
    config = parse_args(["--config", str(toml)], environ={})
    assert (config.media_server, config.media_secret, config.mesh_limit) == (
        "ws://198.18.21.1:8188",
        "j4nus",
        0,
    )
    assert config.max_room_size == 200
    assert "j4nus" not in repr(config)
    assert parse_args([], environ={}).mesh_limit == 6
    janus = ["--media-server", "ws://198.18.21.1:8188"]
    for argv, message in [
        (janus, "--media-server needs --media-secret"),
        (["--media-secret", "s"], "--media-secret needs --media-server"),
        ([*janus, "--media-secret", "s", "--max-room-size", "201"], "--max-room-size is at most 200"),
        (
            [*janus, "--media-secret", "s", "--redis", "redis://r", "--database", "postgresql://d"],
            "cannot go",
        ),
        (["--media-server", "http://j:8188"], "is not a ws://HOST:PORT URL"),
    ]:
        with pytest.raises(SystemExit):
            parse_args(argv, environ={})
        assert message in capsys.readouterr().err


def test_check_turn_is_a_command_not_a_setting() -> None:
    urls = ["--turn-url", "turn:t:3478", "--turn-secret", "s"]
    assert parse_command(urls, environ={}) == (parse_args(urls, environ={}), False)
    assert parse_command([*urls, "--check-turn"], environ={}) == (parse_args(urls, environ={}), True)


@pytest.mark.parametrize(
    ("toml", "argv", "env", "message"),
    [
        ("max_room_size = 4", [], {}, "unknown setting 'max_room_size' (did you mean 'max-room-size'?)"),
        ("colour = 'blue'", [], {}, "unknown setting 'colour' (the keys are the long flag names)"),
        ("config = 'other.toml'", [], {}, "unknown setting 'config'"),
        ("port = 'http'", [], {}, "voxroom.toml: port: invalid value 'http'"),
        ("port = 80.5", [], {}, "voxroom.toml: port: invalid value '80.5'"),
        ("max-room-size = 0", [], {}, "voxroom.toml: max-room-size: '0' must be at least 1"),
        ("log-format = 'xml'", [], {}, "voxroom.toml: log-format: 'xml' is not one of text, json"),
        ("[port]\nnumber = 1", [], {}, "voxroom.toml: port: must be a string or a number"),
        ("grace = true", [], {}, "voxroom.toml: grace: must be a string or a number"),
        ("ice-server = [1]", [], {}, "ice-server: must be a string or a number or a list of strings"),
        ("port = 1\nport = 2", [], {}, "config file {dir}/voxroom.toml: Cannot overwrite a value"),
        (
            "",
            ["--config", "{dir}/absent.toml"],
            {},
            "cannot read the config file {dir}/absent.toml: No such file",
        ),
        ("", [], {"VOXROOM_LOG_LEVEL": "loud"}, "VOXROOM_LOG_LEVEL: 'loud' is not one of debug, info,"),
        (
            "",
            ["--password-file", "{dir}/absent"],
            {},
            "--password-file: cannot read {dir}/absent: No such file",
        ),
        ("", ["--password-file", "{dir}/empty"], {}, "--password-file: {dir}/empty is empty"),
        ("", ["--password-file", "{dir}"], {}, "--password-file: cannot read {dir}: Is a directory"),
        (
            "metrics-token-file = '{dir}/empty'",
            [],
            {},
            "voxroom.toml: metrics-token-file: {dir}/empty is empty",
        ),
        ("", [], {"VOXROOM_METRICS_TOKEN_FILE": "{dir}/empty"}, "VOXROOM_METRICS_TOKEN_FILE: {dir}/empty is"),
        ("tls-cert = 'c.pem'", [], {}, "--tls-cert and --tls-key go together"),
        ("turn-url = 'turn:t:3478'", [], {}, "--turn-url needs --turn-secret or --turn-secret-file"),
        ("turn-secret = 's'", [], {}, "--turn-secret needs at least one --turn-url"),
        ("", [], {"VOXROOM_TURN_URL": "turn:t:3478", "VOXROOM_TURN_SECRET": ""}, "--turn-url needs"),
        (
            "turn-secret = 's'\nturn-url = ['stun:t:3478']",
            [],
            {},
            "voxroom.toml: turn-url: 'stun:t:3478' must look like turn:HOST:PORT, turn:HOST:PORT?transport",
        ),
        ("", [], {"VOXROOM_TURN_TTL": "0"}, "VOXROOM_TURN_TTL: '0' must be at least 1"),
        ("", ["--turn-url", "turn:[::1]:3478"], {}, "--turn-url: has no usable host name or IPv4 address"),
        ("", ["--turn-secret-file", "{dir}/empty"], {}, "--turn-secret-file: {dir}/empty is empty"),
    ],
)
def test_a_wrong_file_or_setting_is_refused_naming_it(
    tmp_path: Path,
    toml: str,
    argv: list[str],
    env: dict[str, str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write(tmp_path / "voxroom.toml", toml.format(dir=tmp_path))
    _write(tmp_path / "empty", "\n")
    argv = [a.format(dir=tmp_path) for a in argv] or ["--config", str(tmp_path / "voxroom.toml")]
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv, environ={k: v.format(dir=tmp_path) for k, v in env.items()})
    assert exit_info.value.code == 2
    assert message.format(dir=tmp_path) in capsys.readouterr().err


def test_the_example_in_docs_operations_is_a_valid_config_file(tmp_path: Path) -> None:
    docs = (ROOT / "docs" / "operations.md").read_text()
    example = docs.split("```toml\n", 1)[1].split("```", 1)[0]
    assert example.startswith("# /etc/voxroom/voxroom-server.toml\n")  # where the service unit reads it
    config = parse_args(["--config", str(_write(tmp_path / "voxroom.toml", example))], environ={})
    assert (config.log_format, config.max_connections, len(config.ice_servers)) == (LogFormat.JSON, 2000, 1)
