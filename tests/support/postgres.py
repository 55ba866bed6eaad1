"""A private PostgreSQL cluster: ``initdb`` into a temporary folder, ``postgres`` on 127.0.0.1.

FIELD-NOTES, "Servers the tests start": PostgreSQL refuses to run as root,
so ``initdb`` and ``postgres`` run as the ``postgres`` user, and the folder
is made theirs (a root-only temporary folder would be out of their reach).
They run under ``setpriv``, which drops to that user and then *becomes* the
program: the PID we hold is the postmaster's, so a signal reaches it (with
``runuser``, which forks and waits, SIGKILL would leave the postmaster
running, and a SIGTERM is followed by its own SIGKILL after 2 s).

Only TCP on 127.0.0.1 (no Unix socket), ``trust`` authentication there,
and no fsync: the tests are about voxroom's durability, not the disk's.
``stop`` is PostgreSQL's fast shutdown (SIGINT): it ends open sessions, as
an operator's restart does, where SIGTERM would wait for them to leave.

Each test gets its own database, owned by the role ``voxroom``, as
docs/operations.md has an operator create them.
"""

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from .daemon import Daemon
from .ports import free_port

HOST = "127.0.0.1"
USER = "postgres"
ROLE = "voxroom"
INITDB_TIMEOUT_S = 60.0
READY = "database system is ready to accept connections"
_names = itertools.count()


def bin_dir() -> Path | None:
    """Debian's newest ``/usr/lib/postgresql/N/bin`` (its programs are not on PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def missing() -> str | None:
    """Why a cluster cannot be started here, or None if it can."""
    if os.geteuid() != 0:
        return "a private PostgreSQL needs root (to run it as the postgres user)"
    if bin_dir() is None or shutil.which("setpriv") is None:
        return "PostgreSQL is not installed: run ./dev test (it installs it) or apt-get install postgresql"
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return f"there is no {USER} user: apt-get install postgresql"
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        return "psycopg is not installed: pip install -e '.[dev]'"
    return None


class Postgres(Daemon):
    """A cluster in ``tmp``, which must be the postgres user's (``cluster()`` makes such a folder).

    Args:
        tmp: its folder: the data directory and its output go there.
        port: its port; ``free_port()`` if None. A restart keeps it.
    """

    name = "postgres"

    def __init__(self, tmp: Path, port: int | None = None) -> None:
        bindir = bin_dir()
        if bindir is None:
            raise RuntimeError(missing())
        self.bindir = bindir
        self.port = port or free_port()
        self.data = tmp / "data"
        self._seen = 0  # how much of its output the current start began after
        super().__init__(tmp)

    def _as_postgres(self, program: str, *args: str) -> list[str]:
        return [
            "setpriv",
            f"--reuid={USER}",
            f"--regid={USER}",
            "--init-groups",
            "--",
            str(self.bindir / program),
            *args,
        ]

    def prepare(self) -> None:
        """Create the cluster before the first start; read only the output written after this."""
        if not (self.data / "PG_VERSION").exists():
            subprocess.run(
                self._as_postgres(
                    "initdb",
                    "-D",
                    str(self.data),
                    "-U",
                    USER,
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "-N",
                ),
                check=True,
                capture_output=True,
                timeout=INITDB_TIMEOUT_S,
            )
        self._seen = self.output_path.stat().st_size if self.output_path.exists() else 0

    def command(self) -> Sequence[str]:
        settings = {
            "listen_addresses": HOST,
            "unix_socket_directories": "",
            "fsync": "off",
            "full_page_writes": "off",
            "synchronous_commit": "off",
        }
        flags = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        return self._as_postgres("postgres", "-D", str(self.data), "-p", str(self.port), *flags)

    def ready(self) -> bool:
        with self.output_path.open("rb") as out:
            out.seek(self._seen)
            return READY.encode() in out.read()

    def stop(self) -> None:
        """Fast shutdown: open sessions are ended, as an operator's restart ends them."""
        self._signal(signal.SIGINT)

    def url(self, database: str, user: str = ROLE) -> str:
        return f"postgresql://{user}@{HOST}:{self.port}/{database}"

    def admin(self, *statements: str) -> None:
        """Run ``statements`` as the superuser, each on its own (CREATE DATABASE needs that)."""
        import psycopg

        with psycopg.connect(self.url("postgres", USER), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement.encode())

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A new empty database owned by ``voxroom``; its URL. Dropped at the end, sessions and all."""
        name = f"vx_{os.getpid()}_{next(_names)}"
        self.admin(f"CREATE DATABASE {name} OWNER {ROLE}")
        try:
            yield self.url(name)
        finally:
            if self.running:
                self.admin(f"DROP DATABASE {name} WITH (FORCE)")


@contextlib.contextmanager
def cluster() -> Iterator[Postgres]:
    """A started cluster with the role ``voxroom``, in a folder the postgres user owns; removed at the end."""
    reason = missing()
    if reason is not None:
        raise RuntimeError(reason)
    owner = pwd.getpwnam(USER)
    tmp = Path(tempfile.mkdtemp(prefix="vx-postgres-"))
    try:
        os.chown(tmp, owner.pw_uid, owner.pw_gid)
        with Postgres(tmp) as postgres:
            postgres.admin(f"CREATE ROLE {ROLE} LOGIN")
            yield postgres
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
