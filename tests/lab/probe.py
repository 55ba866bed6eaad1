"""Probes run inside the lab's namespaces: what a NAT shows the outside, and what gets through.

``python -m tests.lab.probe serve PORT...`` answers every UDP datagram and
TCP connection on those ports with the address it came from (``ip:port``),
prints ``ready`` and serves until killed (at most ``SERVE_LIMIT_S``).
``ask udp|tcp HOST PORT...`` asks each port from one local socket and prints
one answer per line, ``timeout`` or the error's name: the same local port
asking two destinations shows whether a NAT maps it once or per destination.
``count SECONDS IP:PORT...`` listens on those UDP addresses, prints ``ready``,
and after SECONDS one line per address: how many STUN requests came (ICE's
connectivity checks).
"""

import selectors
import socket
import sys
import time
from collections.abc import Sequence

ASK_TIMEOUT_S = 1.0
SERVE_LIMIT_S = 60.0


def serve(ports: Sequence[int]) -> None:
    with selectors.DefaultSelector() as sel:
        for port in ports:
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(("0.0.0.0", port))
            tcp = socket.create_server(("0.0.0.0", port))
            sel.register(udp, selectors.EVENT_READ)
            sel.register(tcp, selectors.EVENT_READ)
        print("ready", flush=True)
        deadline = time.monotonic() + SERVE_LIMIT_S
        while time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.5):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                if sock.type == socket.SOCK_DGRAM:
                    _, (ip, port) = sock.recvfrom(2048)
                    sock.sendto(f"{ip}:{port}".encode(), (ip, port))
                else:
                    conn, (ip, port) = sock.accept()
                    with conn:
                        conn.sendall(f"{ip}:{port}".encode())


def count_stun(seconds: float, addresses: Sequence[str]) -> list[str]:
    counts = dict.fromkeys(addresses, 0)
    with selectors.DefaultSelector() as sel:
        for address in addresses:
            ip, port = address.rsplit(":", 1)
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((ip, int(port)))
            sel.register(udp, selectors.EVENT_READ, address)
        print("ready", flush=True)
        deadline = time.monotonic() + min(seconds, SERVE_LIMIT_S)
        while (left := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(timeout=left):
                data = key.fileobj.recv(2048)  # type: ignore[union-attr]
                if data[:2] == b"\x00\x01":  # a STUN Binding request
                    counts[key.data] += 1
    return [f"{address} {n}" for address, n in counts.items()]


def ask(protocol: str, host: str, ports: Sequence[int]) -> list[str]:
    """One line per port: the address the server saw, ``timeout``, or an error's name."""
    answers = []
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.settimeout(ASK_TIMEOUT_S)
    with udp:
        for port in ports:
            try:
                if protocol == "udp":
                    udp.connect((host, port))  # connected: an ICMP error comes back as an OSError
                    udp.send(b"?")
                    answers.append(udp.recv(2048).decode())
                else:
                    with socket.create_connection((host, port), timeout=ASK_TIMEOUT_S) as tcp:
                        answers.append(tcp.recv(2048).decode())
            except TimeoutError:
                answers.append("timeout")
            except OSError as exc:
                answers.append(type(exc).__name__)
    return answers


def main(argv: Sequence[str]) -> int:
    match argv:
        case ["serve", *ports]:
            serve([int(p) for p in ports])
        case ["count", seconds, *addresses]:
            print("\n".join(count_stun(float(seconds), addresses)), flush=True)
        case ["ask", ("udp" | "tcp") as protocol, host, *ports]:
            print("\n".join(ask(protocol, host, [int(p) for p in ports])), flush=True)
        case _:
            print(__doc__, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
