"""The coturn launcher the TURN tests and the NAT lab use: it starts, listens, stops, restarts."""

import socket
import ssl
from pathlib import Path

import pytest
import trustme

from .support.coturn import Coturn


def _tcp_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def test_coturn_starts_listens_and_stops(tmp_path: Path) -> None:
    turn = Coturn(tmp_path, secret="s3cret")
    with turn:
        assert turn.running
        assert _tcp_open(turn.port)
        assert turn.urls == [f"turn:127.0.0.1:{turn.port}", f"turn:127.0.0.1:{turn.port}?transport=tcp"]
        pid = turn.pid
        turn.restart()
        assert turn.pid != pid
        assert _tcp_open(turn.port)
    assert not turn.running
    assert not _tcp_open(turn.port)
    turn.stop()  # idempotent


def test_coturn_speaks_tls_with_the_certificate_it_is_given(tmp_path: Path) -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    with Coturn(tmp_path, secret="s3cret", cert=cert, key=key) as turn:
        assert turn.tls_port is not None
        assert turn.urls[-1] == f"turns:127.0.0.1:{turn.tls_port}?transport=tcp"
        context = ssl.create_default_context()
        ca.configure_trust(context)
        raw = socket.create_connection(("127.0.0.1", turn.tls_port), timeout=5)
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() is not None


def test_coturn_that_cannot_start_raises_with_its_log(tmp_path: Path) -> None:
    turn = Coturn(tmp_path, secret="s3cret", listen_ip="198.18.255.1")  # an address no interface has
    try:
        with pytest.raises(RuntimeError, match="Cannot bind"):
            turn.start(timeout_s=3)
    finally:
        turn.stop()
    assert not turn.running
