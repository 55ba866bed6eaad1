"""Places in grace are bounded on the real server: an address that joins and drops cannot grow them."""

from signaling_server.hub import MAX_GRACE_PER_ADDRESS

from .conftest import ServerFactory
from .wsclient import Client


async def test_an_address_that_joins_and_drops_keeps_only_its_newest_places_in_grace(
    make_server: ServerFactory,
) -> None:
    server = await make_server(grace_s=60.0)
    watcher = await Client.open(server.url)
    await watcher.join(room="lobby", username="watcher")
    lobby = [await Client.open(server.url) for _ in range(3)]
    ids = []
    for i, client in enumerate(lobby):
        ids.append((await client.join(room="lobby", username=f"early{i}"))["self"]["id"])
        await watcher.expect("peer-joined")
    churners = [await Client.open(server.url) for _ in range(MAX_GRACE_PER_ADDRESS)]
    for i, churner in enumerate(churners):
        await churner.join(room=f"room{i}", username="churner")
    # Everyone here is 127.0.0.1. All drop, the lobby's first: only the newest 8 stay in grace.
    for client in [*lobby, *churners]:
        await client.close()
    gone = [(await watcher.expect("peer-left", timeout=3.0))["id"] for _ in lobby]
    assert gone == ids
    assert server.relay.hub.peers == 1 + MAX_GRACE_PER_ADDRESS
    await watcher.nothing(0.3)
    await watcher.close()
