"""Build the translations (``.ts`` to ``.qm``) or bring the ``.ts`` sources up to date with the code.

    python -m client_desktop.ui.i18n.build            # voxroom_<code>.qm beside each .ts (lrelease)
    python -m client_desktop.ui.i18n.build --update   # rescan the code into the .ts files (lupdate)

Both tools come with the PySide6 wheel. The ``.ts`` files carry no line
numbers (``-locations none``), so they change only when a string does, and
a test can tell a stale one by updating a copy and comparing.
"""

import argparse
import subprocess
import sys
from pathlib import Path

import PySide6

from . import HERE, TRANSLATED, qm_path, ts_path

TOOLS = Path(PySide6.__file__).parent
SOURCES = HERE.parent.parent
"""``client_desktop``: every module that may hold a user-facing string."""


def update(ts: Path) -> None:
    """Merge the strings lupdate finds in the code into ``ts``, dropping those the code no longer has."""
    command = [str(TOOLS / "lupdate"), "-silent", "-extensions", "py", "-no-obsolete", "-locations", "none"]
    subprocess.run([*command, str(SOURCES), "-ts", str(ts)], check=True)  # noqa: S603 - our own tool


def release(code: str) -> Path:
    """Compile one language's ``.ts`` into the ``.qm`` the app loads."""
    qm = qm_path(code)
    subprocess.run([str(TOOLS / "lrelease"), "-silent", str(ts_path(code)), "-qm", str(qm)], check=True)  # noqa: S603
    return qm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--update", action="store_true", help="rescan the code into the .ts files")
    args = parser.parse_args(argv)
    for code in TRANSLATED:
        if args.update:
            update(ts_path(code))
        else:
            print(release(code))
    return 0


if __name__ == "__main__":
    sys.exit(main())
