"""Runtime hook of both bundles: TLS clients trust what the operating system trusts.

A frozen program carries the build machine's OpenSSL, which looks for CA
certificates where the build machine's distribution keeps them; elsewhere
(Fedora, Arch, SUSE: other paths) every ``wss://`` and ``turns:`` connection
would fail to verify. ``truststore`` makes every ``ssl.SSLContext`` use the
system's store instead: on Linux the distribution's CA file wherever it is,
on Windows and macOS the system verifier. Injected here, at the entry point,
it covers every client in the program (the signaling WebSocket, the TURN
probes, aiortc's own TURN over TLS, ``--check-turn``), not only our own calls.

Only where the system has no CA store at all (a minimal container) does the
bundled certifi set stand in, through ``SSL_CERT_FILE``, which OpenSSL and
truststore both honour; a ``SSL_CERT_FILE`` the user set wins.
"""

import os
import re
import ssl
import sys

_HASHED_NAME = re.compile(r"^[0-9a-fA-F]{8}\.[0-9]$")


def system_has_cas() -> bool:
    """Whether OpenSSL's defaults or one of the CA files truststore knows of holds certificates."""
    from truststore import _openssl  # the candidate paths; truststore is pinned in pyproject.toml

    defaults = ssl.get_default_verify_paths()
    capath = defaults.capath if defaults.capath and os.path.isdir(defaults.capath) else None
    return (
        defaults.cafile is not None
        or (capath is not None and any(_HASHED_NAME.match(name) for name in os.listdir(capath)))
        or any(os.path.isfile(path) for path in _openssl._CA_FILE_CANDIDATES)
    )


def _install() -> None:
    import truststore

    if sys.platform.startswith("linux") and not system_has_cas():
        import certifi

        os.environ.setdefault("SSL_CERT_FILE", certifi.where())
    truststore.inject_into_ssl()


if getattr(sys, "frozen", False):
    _install()
