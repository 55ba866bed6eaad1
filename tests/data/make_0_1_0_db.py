"""Write ``voxroom-0.1.0.sqlite3``: a database as the released 0.1.0 server left it.

The migration tests open it with today's server. Made once and committed;
run again only to remake it (from the repository root, with the venv):

    .venv/bin/python tests/data/make_0_1_0_db.py

It runs 0.1.0's own ``store.py`` and ``model.py``, taken from git at the
commit 0.1.0 was released from, so the file is what that code wrote.
"""

import importlib
import subprocess
import sys
import tempfile
from pathlib import Path

from signaling_server.hub import hash_token

RELEASE = "496abc5"  # the commit voxroom 0.1.0 was released from
HERE = Path(__file__).resolve().parent
OUT = HERE / "voxroom-0.1.0.sqlite3"
ROOM, TOKEN = "den", "resume-token-from-0.1.0"
"""The room alice's place is in, and the token that resumes it (the database holds only its hash)."""
GRACE_UNTIL = 4_102_444_800.0  # 2100-01-01: the place is still in grace whenever a test opens it
T0_MS = 1_764_000_000_000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "voxroom010"
        package.mkdir()
        (package / "__init__.py").write_text("")
        for name in ("store", "model"):
            source = subprocess.run(
                ["git", "show", f"{RELEASE}:signaling_server/{name}.py"],
                cwd=HERE,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            (package / f"{name}.py").write_text(source)
        sys.path.insert(0, tmp)
        store_010 = importlib.import_module("voxroom010.store")
        model = importlib.import_module("voxroom010.model")
        OUT.unlink(missing_ok=True)
        store = store_010.Store(OUT)
        store.begin()
        for i, (room, text) in enumerate(
            [(ROOM, "hello from 0.1.0"), ("lobby", "elsewhere"), (ROOM, "second"), (ROOM, "third")]
        ):
            draft = model.ChatDraft(room, model.PeerId("a1b2c3d4e5f60718"), "alice", text, T0_MS + i, f"n{i}")
            store.append_chat(draft)
        place = model.Place(
            model.PeerId("a1b2c3d4e5f60718"), ROOM, "alice", hash_token(TOKEN), grace_until=GRACE_UNTIL
        )
        store.save_place(place)
        store.commit()
        store.close()
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
