#!/usr/bin/env bash
# Build the bundles, archives and .debs inside Debian 11, so they need glibc 2.31 and run there and on
# every newer glibc system. A program linked against a newer glibc asks for its newer symbol versions
# and will not start on an older one: the build must happen on the oldest system it targets, with a
# Python built there, and with wheels made for it (the app's PySide6 from packaging/compat-pins.txt).
#   packaging/compat.sh [build]   prepare (below), then build.sh in Debian 11: the server and the app
#   packaging/compat.sh prepare   only make the roots, CPython and its venv (CI starts it early, in the background)
#   packaging/compat.sh shell     a shell in the build root (the repository is /src)
# Kept under build/compat/ between runs (rm -rf build/compat starts over):
#   runtime/  Debian 11 minbase with what the bundles expect of a system (tests run them there)
#   layer/    an overlay on it: compilers, -dev libraries, CPython 3.11 in /opt/python, /opt/venv
# Needs root, debootstrap, unshare and Debian's mirror (DEBIAN_MIRROR). Every mount is made in a private
# mount namespace and vanishes with it, whatever happens; a second run waits for the first (flock).
set -euo pipefail
cd "$(dirname "$0")/.."
SUITE=bullseye
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# CPython from Debian's own pool (the same tarball as python.org's; bookworm's python3.11 source).
PY_TARBALL=pool/main/p/python3.11/python3.11_3.11.2.orig.tar.gz
PY_SHA256=2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849
# SQLite from Debian 12: the store's SQL needs 3.35 (RETURNING), Debian 11 has 3.34. Built into
# /usr/local/lib, which the loader and PyInstaller search first; Python's sqlite3 loads it by soname.
SQLITE_TARBALL=pool/main/s/sqlite3/sqlite3_3.40.1.orig.tar.xz
SQLITE_SHA256=aaa776260ab4dc976db34aa7891819484c8676b5b2783123ebc6301e2ca5d655
# What the app's .deb depends on (packaging/deb.py) and its fonts: the test system, and the libraries
# PyInstaller copies into the bundle from the build system (Qt's plugins link them).
RUNTIME_PACKAGES=libasound2,libegl1,libgl1,libxkbcommon0,libxkbcommon-x11-0,libfontconfig1,libfreetype6,libglib2.0-0,libx11-6,libdbus-1-3,libxcb-cursor0,libxcb-icccm4,libxcb-keysyms1,fonts-dejavu-core
# What building needs on top: CPython's compiler and -dev libraries (ssl, ctypes, zlib, sqlite3, bz2, lzma,
# uuid; no readline, curses or tk: the programs use none), build.sh's tools, pip's CA certificates, and
# what the app bundle carries: PortAudio, and the xcb libraries Qt's X11 plugin needs beyond the .deb's
# Depends (as a build on this machine finds them here).
BUILD_PACKAGES="gcc make libc6-dev libssl-dev libffi-dev zlib1g-dev libsqlite3-dev libbz2-dev liblzma-dev
  uuid-dev pkg-config binutils xz-utils ca-certificates libportaudio2 libxcb-randr0 libxcb-shape0
  tcl"  # tcl: SQLite's build
DIR=build/compat
HOST_PY=${PYTHON:-.venv/bin/python}  # whose pip configuration and versions the chroot's pip follows
[ -x "$HOST_PY" ] || HOST_PY=python3
ROOTFS=$DIR/root  # the overlay's mount point, inside the namespace only

in_namespace() {  # $1: the step; runs in a private mount namespace (see the end of the file)
  local step=$1
  if [ ! -f "$DIR/runtime.done" ] || [ "$(cat "$DIR/runtime.done")" != "$SUITE $RUNTIME_PACKAGES" ]; then
    rm -rf "$DIR/runtime" "$DIR/layer" "$DIR"/*.done
    local t=$SECONDS
    debootstrap --variant=minbase --include="$RUNTIME_PACKAGES" "$SUITE" "$DIR/runtime" "$MIRROR" \
      >"$DIR/debootstrap.log" 2>&1 || { tail -20 "$DIR/debootstrap.log" >&2; exit 1; }
    echo "$SUITE $RUNTIME_PACKAGES" >"$DIR/runtime.done"
    echo "compat: Debian 11 root in $((SECONDS - t)) s"
  fi
  mkdir -p "$DIR/layer/upper" "$DIR/layer/work" "$ROOTFS"
  mount -t overlay overlay -o "lowerdir=$DIR/runtime,upperdir=$DIR/layer/upper,workdir=$DIR/layer/work" "$ROOTFS"
  for d in proc dev dev/pts sys; do mount --bind "/$d" "$ROOTFS/$d"; done
  mkdir -p "$ROOTFS/src"
  mount --bind . "$ROOTFS/src"
  cp /etc/resolv.conf "$ROOTFS/etc/resolv.conf"
  cp "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" "$ROOTFS/etc/host-ca-certificates.crt"
  inside() {  # $@: a step of this script, run in the chroot
    chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
      "${pip_env[@]}" PIP_CERT=/etc/host-ca-certificates.crt \
      ${SOURCE_DATE_EPOCH:+SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH} bash /src/packaging/compat.sh --in-chroot "$@"
  }
  from_source() {  # $1: the step that builds it in the chroot, $2: its tarball on the mirror, $3: the tarball's sha256
    [ "$(cat "$DIR/$1.done" 2>/dev/null)" = "$2" ] && return 0
    local tarball=$DIR/${2##*/}
    [ -f "$tarball" ] || curl -fsS -o "$tarball" "$MIRROR/$2"
    echo "$3  $tarball" | sha256sum -c --quiet
    inside "$1" "/src/$tarball"
    echo "$2" >"$DIR/$1.done"
  }
  # pip there is configured as pip here (its local indexes bound read-only at the same paths), but for
  # the CA file, copied: pip trusts what this machine trusts (an egress proxy's CA too, where there is one).
  local pip_env=() key value
  while IFS='=' read -r key value; do
    value=${value#\'}; value=${value%\'}
    key=PIP_$(echo "${key#*.}" | tr 'a-z-' 'A-Z_')
    [ "$key" = PIP_CERT ] && continue
    for path in $value; do
      path=${path#file://}; path=${path%/simple}  # an index's files lie beside its simple/
      if [ "${path:0:1}" = / ] && [ -e "$path" ]; then
        if [ -d "$path" ]; then mkdir -p "$ROOTFS$path"; else mkdir -p "$(dirname "$ROOTFS$path")"; touch "$ROOTFS$path"; fi
        mount --bind -o ro "$path" "$ROOTFS$path"
      fi
    done
    pip_env+=("$key=$value")
  done < <("$HOST_PY" -m pip config list 2>/dev/null | grep '^global\.')
  if [ "$(cat "$DIR/tools.done" 2>/dev/null)" != "$BUILD_PACKAGES" ]; then
    inside tools
    echo "$BUILD_PACKAGES" >"$DIR/tools.done"
  fi
  from_source python "$PY_TARBALL" "$PY_SHA256"
  from_source sqlite "$SQLITE_TARBALL" "$SQLITE_SHA256"
  case $step in
    prepare) inside wheels ;;
    build) inside wheels && inside build ;;
    shell) chroot "$ROOTFS" bash ;;
  esac
}

in_chroot() {  # $1: the step; runs as root in the Debian 11 chroot, the repository at /src
  case $1 in
    tools)
      local t=$SECONDS
      apt-get update -qq
      # shellcheck disable=SC2086
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $BUILD_PACKAGES >/dev/null
      apt-get clean
      echo "compat: build tools in $((SECONDS - t)) s" ;;
    python)  # $2: the source tarball
      local t=$SECONDS src
      src=$(mktemp -d)
      trap "rm -rf '$src'" EXIT
      tar -C "$src" --strip-components=1 -xzf "$2"
      # Shared libpython (PyInstaller needs it), found through the rpath; no PGO or LTO, no tests:
      # the bundles' Python is not where their time goes (the server's loop, PyAV, Qt).
      (cd "$src" && ./configure -q --prefix=/opt/python --enable-shared LDFLAGS=-Wl,-rpath,/opt/python/lib \
        && make -s -j"$(nproc)" >/dev/null && make -s install >/dev/null) 2>&1 | grep -v -e warning -e '^\s' || true
      rm -rf "$src" /opt/venv
      /opt/python/bin/python3.11 -c 'import ssl, ctypes, sqlite3, zlib, bz2, lzma, uuid, decimal'
      /opt/python/bin/python3.11 -m venv /opt/venv
      /opt/venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
      echo "compat: CPython $(/opt/python/bin/python3.11 -c 'import platform; print(platform.python_version())') in $((SECONDS - t)) s" ;;
    sqlite)  # $2: the source tarball
      local t=$SECONDS src
      src=$(mktemp -d)
      trap "rm -rf '$src'" EXIT
      tar -C "$src" --strip-components=1 -xJf "$2"
      (cd "$src" && ./configure -q --prefix=/usr/local --disable-static --disable-tcl \
        && make -s -j"$(nproc)" >/dev/null && make -s install >/dev/null) 2>&1 | grep -v -e warning -e '^\s' || true
      ldconfig
      /opt/python/bin/python3.11 -c 'import sqlite3; assert sqlite3.sqlite_version_info >= (3, 35), sqlite3.sqlite_version'
      echo "compat: SQLite $(/opt/python/bin/python3.11 -c 'import sqlite3; print(sqlite3.sqlite_version)') in $((SECONDS - t)) s" ;;
    wheels)  # the project, editable, with what the builds need (prepare downloads it already)
      local t=$SECONDS
      cd /src
      # The build extra (PyInstaller, truststore, certifi) and the desktop extra, as requirements, but
      # for packaging/compat-pins.txt, which replaces what pyproject.toml asks of the same packages
      # (a constraint could only narrow it), and the host venv's versions of everything else
      # (build/compat/constraints.txt): the same bundles as a build on this machine.
      /opt/venv/bin/python - <<'PY'
import re, tomllib
from pathlib import Path

def name(requirement):  # "PySide6_Essentials==6.11.3" -> "pyside6-essentials"
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]*", requirement)[0]).lower()

def lines(path):
    text = path.read_text() if path.is_file() else ""
    return [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]

pins = lines(Path("packaging/compat-pins.txt"))
pinned = {name(pin) for pin in pins}
extras = tomllib.loads(Path("pyproject.toml").read_text())["project"]["optional-dependencies"]
wanted = [r for r in extras["build"] + extras["desktop"] if name(r) not in pinned | {"voxroom"}]
Path("/tmp/build.txt").write_text("\n".join(wanted + pins) + "\n")
host = [c for c in lines(Path("build/compat/constraints.txt")) if name(c) not in pinned]
Path("/tmp/constraints.txt").write_text("\n".join(host) + "\n")
PY
      /opt/venv/bin/python -m pip install -q --disable-pip-version-check -c /tmp/constraints.txt \
        -e '.[server,fast]' -r /tmp/build.txt
      echo "compat: pip in $((SECONDS - t)) s" ;;
    build) cd /src && PYTHON=/opt/venv/bin/python bash packaging/build.sh ;;
  esac
}

if [ "${1:-}" = --in-chroot ]; then shift; in_chroot "$@"; exit; fi
if [ "${1:-}" = --in-namespace ]; then shift; in_namespace "$@"; exit; fi
step=${1:-build}
case $step in prepare|build|shell) ;; *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "compat.sh needs root (debootstrap, chroot, mounts)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "compat.sh needs debootstrap: apt-get install debootstrap" >&2; exit 1; }
mkdir -p "$DIR"
exec 9>"$DIR/lock"
flock 9
if [ "$step" = build ]; then
  : "${SOURCE_DATE_EPOCH:=$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
  export SOURCE_DATE_EPOCH
  # The host venv's versions, as constraints (not files installed from a local path: absent there).
  "$HOST_PY" -m pip freeze --exclude-editable 2>/dev/null | grep -v -e '^voxroom' -e ' @ ' \
    >"$DIR/constraints.txt" || true
fi
exec unshare --mount --propagation private -- bash "$0" --in-namespace "$step"
