"""wss:// with a certificate the test makes itself."""

import asyncio
import ssl
import urllib.request
from pathlib import Path

import pytest
import trustme
from websockets.exceptions import InvalidMessage

from .conftest import ServerFactory
from .wsclient import Client


async def test_wss_with_a_generated_certificate(make_server: ServerFactory, tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    server = await make_server(tls_cert=tmp_path / "server.pem", tls_key=tmp_path / "key.pem")
    assert server.url.startswith("wss://")
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    client = await Client.open(server.url, ssl=client_ctx)
    assert (await client.join())["type"] == "joined"
    await client.close()
    health = await asyncio.to_thread(
        urllib.request.urlopen, f"https://127.0.0.1:{server.port}/health", context=client_ctx
    )
    assert health.status == 200
    health.close()
    # A client that does not trust the certificate is refused; plain ws:// is not served.
    with pytest.raises(ssl.SSLCertVerificationError):
        await Client.open(server.url)
    with pytest.raises((InvalidMessage, ConnectionError, asyncio.TimeoutError)):
        await Client.open(server.url.replace("wss://", "ws://"))
