"""``voxroom://`` links: what they lead to, and the hostile ones refused with a reason."""

import pytest

from client_desktop.links import LinkError, RoomLink, looks_like_link, parse_link


@pytest.mark.parametrize(
    ("text", "url", "room"),
    [
        ("voxroom://192.168.1.20:8765/lobby?tls=0", "ws://192.168.1.20:8765/ws", "lobby"),
        ("voxroom://voice.example.org/team-1", "wss://voice.example.org:443/ws", "team-1"),
        ("voxroom://voice.example.org:9000/a.b_c", "wss://voice.example.org:9000/ws", "a.b_c"),
        ("voxroom://h/r?tls=0", "ws://h:8765/ws", "r"),
        ("VOXROOM://Voice.Example.ORG:1/r?tls=1", "wss://voice.example.org:1/ws", "r"),
        ("voxroom://[::1]:8765/lobby?tls=0", "ws://[::1]:8765/ws", "lobby"),
        ("voxroom://[2001:DB8::0:1]/lobby", "wss://[2001:db8::1]:443/ws", "lobby"),
        ("voxroom://h:65535/lobby/", "wss://h:65535/ws", "lobby"),
        ("voxroom://h:08765/lo%62by", "wss://h:8765/ws", "lobby"),
        ("voxroom://bücher.example/r", "wss://xn--bcher-kva.example:443/ws", "r"),
        ("  voxroom://h:1/r\n", "wss://h:1/ws", "r"),
    ],
)
def test_links_lead_to_a_server_and_a_room(text: str, url: str, room: str) -> None:
    link = parse_link(text)
    assert (link.server_url, link.room) == (url, room)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("voxroom://alice:s3cret@h:8765/lobby", "never do"),
        ("voxroom://alice@h:8765/lobby", "never do"),
        ("voxroom://h:8765/lobby?password=s3cret", "only ?tls=0"),
        ("voxroom://h:8765/lobby?tls=0&password=x", "only ?tls=0"),
        ("voxroom://h:8765/lobby?tls=no", "only ?tls=0"),
        ("voxroom://h:0/lobby", "1 to 65535"),
        ("voxroom://h:65536/lobby", "1 to 65535"),
        ("voxroom://h:99999999999/lobby", "1 to 65535"),
        ("voxroom://h:-1/lobby", "1 to 65535"),
        ("voxroom://h:+80/lobby", "1 to 65535"),
        ("voxroom://h:\uff18\uff17\uff16\uff15/lobby", "1 to 65535"),  # fullwidth digits
        ("voxroom://h:/lobby", "1 to 65535"),
        ("voxroom://h:1:2/lobby", "cannot be read"),
        ("voxroom://[::1/lobby", "cannot be read"),
        ("voxroom://[fe80::1%25eth0]:1/lobby", "IPv6"),
        ("voxroom://[1.2.3.4]:1/lobby", "IPv6"),
        ("voxroom://:8765/lobby", "no server"),
        ("voxroom://h%2Eevil:1/lobby", "server name"),
        ("voxroom://-h:1/lobby", "server name"),
        ("voxroom://1.2.3.999:1/lobby", "server name"),
        ("voxroom://h_h:1/lobby", "server name"),
        ("voxroom://h:1", "no room"),
        ("voxroom://h:1/", "no room"),
        ("voxroom://h:1/a/b", "one room"),
        ("voxroom://h:1/a%2Fb", "cannot be used"),
        ("voxroom://h:1/my%20room", "'my room' cannot be used"),
        ("voxroom://h:1/my room", "no spaces"),
        ("voxroom://h:1/caf%C3%A9", "'café' cannot be used"),
        ("voxroom://h:1/%E2%80%AEmoor", r"'\u202emoor' cannot be used"),
        ("voxroom://h:1/%FF", "not valid text"),
        ("voxroom://h:1/" + "a" * 65, "cannot be used"),
        ("voxroom://h:1/r#frag", "should look like"),
        ("voxroom://h:1/r\x00", "control characters"),
        ("voxroom:h:1/r", "should look like"),
        ("https://h:1/r", "should look like"),
        ("voxroom://h:1/" + "a" * 3000, "too long"),
    ],
)
def test_hostile_or_broken_links_are_refused_with_a_reason(text: str, words: str) -> None:
    with pytest.raises(LinkError) as refused:
        parse_link(text)
    assert words in str(refused.value)


@pytest.mark.parametrize(
    "link",
    [
        RoomLink("192.168.1.5", 8765, "lobby", tls=False),
        RoomLink("2001:db8::1", 8765, "team-1", tls=False),
        RoomLink("voice.example.org", 443, "a.b_c"),
    ],
)
def test_a_link_reads_back_as_itself(link: RoomLink) -> None:
    assert parse_link(str(link)) == link


def test_links_are_written_with_their_port_and_the_tls_downgrade() -> None:
    assert str(RoomLink("10.0.0.5", 8765, "lobby", tls=False)) == "voxroom://10.0.0.5:8765/lobby?tls=0"
    assert str(RoomLink("::1", 9, "r")) == "voxroom://[::1]:9/r"


def test_only_arguments_with_the_scheme_count_as_links() -> None:
    assert looks_like_link("voxroom://h/r")
    assert looks_like_link(" VOXROOM:whatever")
    assert not looks_like_link("--server")
    assert not looks_like_link("lobby")
