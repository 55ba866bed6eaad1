"""Free ports on the loopback interface."""

import socket


def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick, released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
