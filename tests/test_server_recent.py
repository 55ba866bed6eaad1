"""A newcomer's history from memory (signaling_server/recent.py) is exactly what the store holds."""

from .conftest import ServerFactory
from .wsclient import Client


async def test_history_from_memory_equals_the_stores(make_server: ServerFactory) -> None:
    server = await make_server(chat_rate_per_s=1000.0)
    alice = await Client.open(server.url)
    assert (await alice.join(username="alice"))["history"] == []  # read from the store: the copy starts
    for i in range(60):
        await alice.send({"type": "chat", "text": f"message {i}", "nonce": f"n{i:04d}"})
        await alice.expect("chat")
    bob = await Client.open(server.url)
    from_memory = (await bob.join(username="bob"))["history"]
    assert server.relay.recent is not None
    assert len(server.relay.recent) == 1
    assert [c["id"] for c in from_memory] == list(range(11, 61))
    await alice.close()
    await bob.close()
    await server.close()

    again = await make_server()  # the same data folder: this join's history comes from the store
    carol = await Client.open(again.url)
    from_store = (await carol.join(username="carol"))["history"]
    assert from_store == from_memory
    await carol.close()


async def test_retention_by_age_keeps_history_in_the_store(make_server: ServerFactory) -> None:
    assert (await make_server(history_days=1)).relay.recent is None
    assert (await make_server(history_max_per_room=10)).relay.recent is None
    assert (await make_server(history_max_per_room=50)).relay.recent is not None
