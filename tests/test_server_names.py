"""Names and nonces over real websockets, sent as an impersonator would send them."""

import pytest

from .conftest import ClientFactory
from .wsclient import Client

TWO_INSTANCES_TOO = True
"""Every rule here holds as well on two instances behind a load balancer (conftest.py)."""


async def _room_of_two(connect: ClientFactory) -> tuple[Client, Client]:
    alice, bob = await connect(), await connect()
    await alice.join(username="alice")
    await bob.join(username="bob")
    await alice.expect("peer-joined")
    return alice, bob


async def _still_chatting(alice: Client, bob: Client) -> None:
    await bob.send({"type": "chat", "text": "still here"})
    for client in (alice, bob):
        assert (await client.expect("chat"))["text"] == "still here"


@pytest.mark.parametrize(
    "name",
    [
        "\u0430lice",  # Cyrillic a
        "\uff41\uff4c\uff49\uff43\uff45",  # fullwidth
        "ALICE",
        "al\u0456ce",  # Cyrillic i
        "alice\u3164",  # a Hangul filler at the end is dropped from the comparison
    ],
)
async def test_look_alike_names_are_taken(connect: ClientFactory, name: str) -> None:
    alice, bob = await _room_of_two(connect)
    mallory = await connect()
    await mallory.send({"type": "join", "room": "lobby", "username": name})
    error = await mallory.expect("error")
    assert (error["code"], error["ref"]) == ("name-taken", "join")
    await alice.nothing()
    await _still_chatting(alice, bob)


@pytest.mark.parametrize(
    "name",
    [
        "\u3164",  # Hangul filler
        "\u3164\u3164\u3164",
        "\u2800\u2800",  # braille blank
        "\u115f\u1160\uffa0",  # the other Hangul fillers
        "\u0301\u0302\u0303",  # combining marks only
        "\u20dd",  # an enclosing mark
        "\ufe0f",  # a variation selector
    ],
)
async def test_invisible_names_are_bad_message(connect: ClientFactory, name: str) -> None:
    alice, bob = await _room_of_two(connect)
    mallory = await connect()
    await mallory.send({"type": "join", "room": "lobby", "username": name})
    error = await mallory.expect("error")
    assert (error["code"], error["ref"]) == ("bad-message", "join")
    await alice.nothing()
    await _still_chatting(alice, bob)


@pytest.mark.parametrize("nonce", ["n\x00", "n\x1b[2J", "n\n", "n\t", "\u202en", "n\u200b", "\ufeffn"])
async def test_nonce_with_control_or_format_character_is_bad_message(
    connect: ClientFactory, nonce: str
) -> None:
    alice, bob = await _room_of_two(connect)
    await alice.send({"type": "chat", "text": "hi", "nonce": nonce})
    error = await alice.expect("error")
    assert (error["code"], error["ref"]) == ("bad-message", "chat")
    await bob.nothing()
    await _still_chatting(alice, bob)
    await alice.send({"type": "chat", "text": "again", "nonce": " n-1 "})
    assert (await bob.expect("chat"))["nonce"] == " n-1 "  # opaque: kept as sent, spaces included
