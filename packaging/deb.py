"""Build the Debian packages from the frozen bundles in dist/ (README, "Installers").

    python packaging/deb.py server|app [--version VERSION] [--out DIR]

writes ``voxroom-server_<version>_amd64.deb`` or ``voxroom_<version>_amd64.deb``. A package is a
staged tree (the bundle under /opt, a link in /usr/bin, the files Debian expects around it, and
the maintainer scripts of packaging/linux/deb/) handed to ``dpkg-deb --build``: the programs are
already built, so debhelper's source-package machinery would only wrap the same few copies.
``--version`` exists for the upgrade test (the same package with a higher version).
"""

import argparse
import email.utils
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINUX = ROOT / "packaging" / "linux"
MAINTAINER = "Voxroom maintainers <packaging@voxroom.org>"
HOMEPAGE = "https://voxroom.org/"
UNIT_BINARY = "/opt/voxroom-venv/bin/voxroom-server"
"""Where packaging/linux/voxroom-server.service expects the server (a pip venv); the package's is /usr/bin."""


@dataclass(frozen=True)
class Package:
    name: str
    section: str
    depends: str
    """Besides libc6, whose version is the build system's (:func:`_libc6`)."""
    recommends: str
    summary: str
    description: str
    scripts: tuple[str, ...] = ()
    conffiles: tuple[str, ...] = ()


SERVER = Package(
    name="voxroom-server",
    section="net",
    depends="",
    recommends="systemd",
    summary="self-hosted voice rooms: the signaling server",
    description="The server of Voxroom: rooms, chat history and the relay of WebRTC\n"
    "signaling between the desktop apps (the voice goes peer to peer). A hardened\n"
    "systemd unit comes with it, not enabled:\n"
    "systemctl enable --now voxroom-server.\n"
    "Settings are in /etc/voxroom/voxroom-server.toml, the database in\n"
    "/var/lib/voxroom.",
    scripts=("postinst", "prerm", "postrm"),
    conffiles=("/etc/voxroom/voxroom-server.toml",),
)
# Qt's platform libraries and ALSA: what the app bundle does not carry (README, "Platforms").
APP = Package(
    name="voxroom",
    section="sound",
    depends="libasound2, libegl1, libgl1, libxkbcommon0, libxkbcommon-x11-0, "
    "libfontconfig1, libfreetype6, libglib2.0-0, libx11-6, libdbus-1-3, libxcb-cursor0, "
    "libxcb-icccm4, libxcb-keysyms1",
    recommends="fonts-dejavu-core, fonts-noto-color-emoji, libpulse0",
    summary="self-hosted voice rooms: the desktop app",
    description="Voice rooms with chat on your own server: join a room by name, talk,\n"
    "push to talk or with voice activity, with echo cancellation and noise\n"
    "suppression. The voice goes peer to peer (WebRTC); a Voxroom server carries\n"
    "the signaling and the chat.",
)


def version_from_pyproject() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def _install(src: Path, dest: Path, mode: int = 0o644) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    dest.chmod(mode)


def _docs(tree: Path, package: Package, version: str) -> None:
    doc = tree / "usr" / "share" / "doc" / package.name
    _install(LINUX / "deb" / "copyright", doc / "copyright")
    overrides = tree / "usr" / "share" / "lintian" / "overrides" / package.name
    _install(LINUX / "deb" / "lintian-overrides", overrides)
    changelog = (
        f"{package.name} ({version}) stable; urgency=medium\n\n"
        f"  * Built from the Voxroom release {version}; see its CHANGELOG.md.\n\n"
        f" -- {MAINTAINER}  {email.utils.formatdate(_build_time())}\n"
    )
    (doc / "changelog.gz").write_bytes(gzip.compress(changelog.encode(), 9, mtime=0))


def _roff(text: str) -> str:
    """``text`` as roff source: backslashes and hyphens escaped, no line read as a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(f"\\&{line}" if line[:1] in {".", "'"} else line for line in text.splitlines())


def manual_page(name: str, summary: str, help_text: str, version: str) -> str:
    """Section 1 manual page made from argparse's ``--help``, so the two never disagree.

    The usage lines become SYNOPSIS, the paragraphs before the first ``...:`` heading DESCRIPTION, each
    heading (``options:``) a section of tagged paragraphs, and paragraphs after the options NOTES.
    """
    blocks = help_text.strip().split("\n\n")
    usage = " ".join(blocks[0].removeprefix("usage:").split()).removeprefix(name).strip()
    date = time.strftime("%Y-%m-%d", time.gmtime(_build_time()))
    out = [f'.TH {name.upper()} 1 "{date}" "{name} {version}" "User Commands"', ".SH NAME"]
    out += [f"{_roff(name)} \\- {_roff(summary)}", ".SH SYNOPSIS", f".B {_roff(name)}", _roff(usage)]
    section = ".SH DESCRIPTION"
    for block in blocks[1:]:
        heading, _, rest = block.partition("\n")
        if not heading.startswith(" ") and heading.endswith(":"):
            out.append(f".SH {_roff(heading[:-1].upper())}")
            items: list[list[str]] = []
            for line in rest.splitlines():
                if line.startswith("  ") and not line.startswith("   "):
                    term, _, help_ = line.strip().partition("  ")
                    items.append([term, help_.strip()])
                else:
                    items[-1][1] += " " + line.strip()
            for term, help_ in items:
                out += [".TP", f".B {_roff(term)}", _roff(help_.strip() or "")]
            section = ".SH NOTES"
        else:
            out += [section, _roff(" ".join(block.split()))]
            section = ".PP"
    return "\n".join(line for line in out if line) + "\n"


def _manual(tree: Path, package: Package, version: str) -> None:
    """man 1 for the program, from the frozen program's own ``--help`` (one line per option, off-screen)."""
    program = tree / "opt" / package.name / package.name
    env = {**os.environ, "COLUMNS": "10000", "QT_QPA_PLATFORM": "offscreen"}
    help_ = [program, "--help"]
    run = subprocess.run(help_, capture_output=True, text=True, env=env, check=True, timeout=120)  # noqa: S603
    page = manual_page(package.name, package.summary, run.stdout, version)
    man = tree / "usr" / "share" / "man" / "man1" / f"{package.name}.1.gz"
    man.parent.mkdir(parents=True)
    man.write_bytes(gzip.compress(page.encode(), 9, mtime=0))


def _server_files(tree: Path) -> None:
    unit = (LINUX / "voxroom-server.service").read_text()
    if UNIT_BINARY not in unit:
        raise SystemExit(f"voxroom-server.service no longer runs {UNIT_BINARY}: update packaging/deb.py")
    unit_path = tree / "lib" / "systemd" / "system" / "voxroom-server.service"
    unit_path.parent.mkdir(parents=True)
    unit_path.write_text(unit.replace(UNIT_BINARY, "/usr/bin/voxroom-server"))
    unit_path.chmod(0o644)
    _install(LINUX / "voxroom-server.toml", tree / "etc" / "voxroom" / "voxroom-server.toml")
    examples = tree / "usr" / "share" / "doc" / "voxroom-server" / "examples"
    for drop_in in sorted((LINUX / "voxroom-server.service.d").iterdir()):
        _install(drop_in, examples / drop_in.name)


def _app_files(tree: Path) -> None:
    share = tree / "usr" / "share"
    _install(LINUX / "voxroom.desktop", share / "applications" / "voxroom.desktop")
    _install(
        LINUX / "org.voxroom.Voxroom.metainfo.xml", share / "metainfo" / "org.voxroom.Voxroom.metainfo.xml"
    )
    icons = ROOT / "build" / "icons" / "hicolor"  # packaging/make_icon.py, run by build.sh
    if not (icons / "scalable" / "apps" / "voxroom.svg").is_file():
        raise SystemExit(f"{icons} is incomplete: build with packaging/build.sh")
    for icon in sorted(icons.rglob("voxroom.*")):
        _install(icon, share / "icons" / "hicolor" / icon.relative_to(icons))


def _build_time() -> int:
    """SOURCE_DATE_EPOCH (packaging/compat.sh passes it: no git there), else the last commit's time
    (reproducible across builds of one commit), else now."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    git = ["git", "-C", str(ROOT), "log", "-1", "--format=%ct"]
    out = subprocess.run(git, capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603
    return int(out) if out.isdigit() else int(time.time())


def _normalise_modes(tree: Path) -> None:
    """Directories 0755, programs 0755, everything else 0644 (shared libraries too): Debian's modes."""
    for path in tree.rglob("*"):
        if path.is_symlink():
            continue
        library = ".so" in path.suffixes or path.name.endswith(".so")
        executable = path.is_dir() or (path.stat().st_mode & 0o111 and not library)
        path.chmod(0o755 if executable else 0o644)


def _libc6() -> str:
    """libc6 at least as new as the build system's: a frozen program asks for the glibc symbol versions
    it was linked against, and its wheels could only be installed if made for this glibc or older."""
    glibc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    if not glibc.startswith("glibc "):
        raise SystemExit(f"not a glibc system ({glibc!r}): the .debs are built on Debian")
    return f"libc6 (>= {glibc.removeprefix('glibc ')})"


def _control(tree: Path, package: Package, version: str) -> None:
    meta = tree / "DEBIAN"
    meta.mkdir()
    size_kib = sum(p.lstat().st_size for p in tree.rglob("*") if not p.is_dir()) // 1024 + 1
    description = "\n".join(f" {line}" if line else " ." for line in package.description.splitlines())
    (meta / "control").write_text(
        f"Package: {package.name}\nVersion: {version}\nArchitecture: amd64\n"
        f"Maintainer: {MAINTAINER}\nInstalled-Size: {size_kib}\n"
        f"Depends: {', '.join(filter(None, [_libc6(), package.depends]))}\nRecommends: {package.recommends}\n"
        f"Section: {package.section}\nPriority: optional\nHomepage: {HOMEPAGE}\n"
        f"Description: {package.summary}\n{description}\n"
    )
    sums = []
    for path in sorted(tree.rglob("*")):
        if path.is_file() and not path.is_symlink() and meta not in path.parents:
            sums.append(f"{hashlib.md5(path.read_bytes()).hexdigest()}  {path.relative_to(tree)}\n")  # noqa: S324 - dpkg's format
    (meta / "md5sums").write_text("".join(sums))
    if package.conffiles:
        (meta / "conffiles").write_text("".join(f"{c}\n" for c in package.conffiles))
    for script in package.scripts:
        _install(LINUX / "deb" / f"{package.name}.{script}", meta / script, 0o755)
    for path in [meta, *meta.iterdir()]:
        if path.name not in package.scripts:
            path.chmod(0o755 if path.is_dir() else 0o644)


def build(package: Package, version: str, out: Path) -> Path:
    """Stage ``package`` from dist/ under build/deb/ and build it into ``out``; returns the .deb."""
    bundle = ROOT / "dist" / package.name
    if not (bundle / package.name).is_file():
        raise SystemExit(f"{bundle} is missing: run packaging/build.sh first")
    tree = ROOT / "build" / "deb" / package.name
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(bundle, tree / "opt" / package.name, symlinks=True)
    for leftover in ("README.txt", "install-desktop-entry.sh", "share"):  # the archive's, not ours
        target = tree / "opt" / package.name / leftover
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    (tree / "usr" / "bin").mkdir(parents=True)
    (tree / "usr" / "bin" / package.name).symlink_to(f"/opt/{package.name}/{package.name}")
    _docs(tree, package, version)
    _manual(tree, package, version)
    (_server_files if package is SERVER else _app_files)(tree)
    _normalise_modes(tree)
    _control(tree, package, version)
    out.mkdir(parents=True, exist_ok=True)
    deb = out / f"{package.name}_{version}_amd64.deb"
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(_build_time())}  # clamps the files' times
    command = ["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(tree), str(deb)]
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
    return deb


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", choices=["server", "app"])
    parser.add_argument("--version", default=version_from_pyproject())
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    deb = build(SERVER if args.package == "server" else APP, args.version, args.out)
    print(f"{deb.relative_to(ROOT) if deb.is_relative_to(ROOT) else deb}: {deb.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
