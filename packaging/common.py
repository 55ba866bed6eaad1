"""Shared by the two PyInstaller specs (imported from them; not a module of the app)."""

import importlib.metadata
import sys
import tomllib
from pathlib import Path

from PyInstaller.utils.hooks import collect_data_files, copy_metadata

ROOT = Path(__file__).resolve().parent.parent

_PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DIST_NAME: str = _PROJECT["name"]
VERSION: str = _PROJECT["version"]


def dist_metadata() -> list[tuple[str, str]]:
    """The installed distribution's metadata, for ``datas``: the programs read their version from it.

    Raises SystemExit when the install is older than pyproject.toml, whose version the bundle would
    otherwise misreport.
    """
    installed = importlib.metadata.version(DIST_NAME)
    if installed != VERSION:
        raise SystemExit(
            f"{DIST_NAME} {installed} is installed, pyproject.toml says {VERSION}: pip install -e ."
        )
    # A source found through a relative sys.path entry (the repository's own voxroom.egg-info, via
    # "" or ".") is relative to the working directory; PyInstaller would resolve it against the spec's.
    return [(str(Path(src).resolve()), dest) for src, dest in copy_metadata(DIST_NAME)]


def runtime_datas() -> list[tuple[str, str]]:
    """What both programs read at run time besides code: our version, and the Unicode confusables
    table that ``protocol.text.name_key`` loads (``homoglyph`` reads it through importlib.resources,
    which PyInstaller's analysis does not see)."""
    return [*dist_metadata(), *collect_data_files("homoglyph", excludes=["**/py.typed"])]


# Never imported by either program, but reachable through optional imports.
COMMON_EXCLUDES = [
    "tkinter",
    "_tkinter",
    "pytest",
    "_pytest",
    "hypothesis",
    "mypy",
    "pip",
    "setuptools",
    "pkg_resources",
    "IPython",
    "pydoc_data",
    "lib2to3",
]

SERVER_EXCLUDES = [
    *COMMON_EXCLUDES,
    "PySide6",
    "shiboken6",
    "qasync",
    "aiortc",
    "av",
    "numpy",
    "sounddevice",
    "livekit",
    "google",
    "cryptography",
    "OpenSSL",
    "client_desktop",
]


# Both bundles: TLS clients trust the system's CA store (packaging/rthook_truststore.py).
TLS_HIDDEN_IMPORTS = ["truststore", "certifi"]
RUNTIME_HOOKS = [str(ROOT / "packaging" / "rthook_truststore.py")]
APP_RUNTIME_HOOKS = [*RUNTIME_HOOKS, str(ROOT / "packaging" / "rthook_bundled_libs.py")]


_DESCRIPTIONS = {"voxroom": "Voxroom voice rooms", "voxroom-server": "Voxroom signaling server"}


def version_file_for(name: str) -> str | None:
    """Windows: the version resource, written to build/windows/ from the template; None elsewhere."""
    if sys.platform != "win32":
        return None
    major, minor, patch = [*(int(part) for part in VERSION.split(".")[:3] if part.isdigit()), 0, 0, 0][:3]
    template = (ROOT / "packaging" / "windows" / "version_info.txt.in").read_text()
    text = template.format(
        name=name, description=_DESCRIPTIONS[name], version=VERSION, major=major, minor=minor, patch=patch
    )
    out = ROOT / "build" / "windows" / f"{name}-version.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return str(out)


APP_EXCLUDES = [
    *COMMON_EXCLUDES,
    "PySide6.QtDBus",
]


APP_HIDDEN_IMPORTS = [
    *TLS_HIDDEN_IMPORTS,
    "client_desktop.selftest",
    "livekit.rtc.resources",  # found with importlib.resources, which PyInstaller cannot follow
]


def app_extra_binaries() -> list[tuple[str, str]]:
    """Native libraries loaded at run time that PyInstaller cannot see.

    livekit's FFI library (the echo canceller) is opened from ``livekit.rtc.resources``. libopus
    needs nothing here: our binding loads the copy in PyAV's ``av.libs``, which comes along as
    libavcodec's dependency.
    """
    from PyInstaller.utils.hooks import collect_dynamic_libs

    found = collect_dynamic_libs("livekit")
    if not found:
        raise SystemExit("livekit's native library is missing: pip install livekit")
    if not sys.platform.startswith("linux"):
        return found
    jack_stub = ROOT / "build" / "stubs" / "libjack.so.0"  # compiled by build.sh
    if not jack_stub.is_file():
        raise SystemExit(f"{jack_stub} is missing: build with packaging/build.sh")
    return [*found, (str(jack_stub), STUBS_DIR.rstrip("/"))]


# Qt plugins the app never loads: other platforms (eglfs, vnc, framebuffer), image formats (our
# icons are drawn with QPainter), SVG, TLS and network information (QtNetwork only lists network
# interfaces and runs the single-instance socket), the GTK theme (it pulls in GTK, cairo and pango
# from the build host) and evdev input.
_QT_PLUGINS_DROPPED = (
    "egldeviceintegrations/",
    "generic/",
    "iconengines/",
    "imageformats/",
    "networkinformation/",
    "platformthemes/libqgtk3",
    "platforms/libqeglfs",
    "platforms/libqlinuxfb",
    "platforms/libqminimal",
    "platforms/libqvkkhrdisplay",
    "platforms/libqvnc",
    "tls/",
    "wayland-decoration-client/libadwaita",  # needs QtSvg; Qt falls back to "bradient"
    "wayland-graphics-integration-client/",  # OpenGL windows on Wayland; we draw with QPainter
)
# The build host's ALSA and JACK break sound on other distributions: PortAudio uses the target's
# libasound.so.2 (every desktop has it), and libjack.so.0 is the target's when installed, else a
# stub that makes PortAudio skip JACK (packaging/linux/jackstub.c, loaded by the runtime hook).
# Fontconfig (with FreeType, which it is built against) must be the target's too: it reads the
# target's /etc/fonts, which an older one misreads, and Debian 11's 2.13.1 writes .uuid files into
# every font folder it may write to.
SYSTEM_LIBS_DROPPED = ("libasound.so.2", "libjack.so.0", "libfontconfig.so.1", "libfreetype.so.6")
STUBS_DIR = "voxroom-stubs/"
# Loaded with dlopen/ctypes by name, so no other binary lists them as needed.
_LOADED_BY_NAME = ("libportaudio.so", "liblivekit_ffi.so", "libpython3")


def _needed(path: str) -> list[str]:
    """The DT_NEEDED entries of an ELF file (``readelf`` comes with binutils, which PyInstaller needs)."""
    import subprocess

    readelf = ["readelf", "-d", path]
    out = subprocess.run(readelf, capture_output=True, text=True, check=False).stdout  # noqa: S603
    return [line.rsplit("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


def prune_app_binaries(binaries: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Drop unused Qt plugins and the host's ALSA/JACK, then every library nothing needs any more.

    Roots are the Python extension modules, the kept Qt plugins and the libraries loaded by name;
    a shared library stays only if a root needs it, directly or through other libraries.
    """
    if not sys.platform.startswith("linux"):
        return binaries

    def dropped(dest: str) -> bool:
        plugin = dest.split("Qt/plugins/", 1)[1] if "Qt/plugins/" in dest else None
        if plugin is not None and plugin.startswith(_QT_PLUGINS_DROPPED):
            return True
        return dest in SYSTEM_LIBS_DROPPED

    kept = [b for b in binaries if not dropped(b[0])]

    def is_root(dest: str, typecode: str) -> bool:
        name = Path(dest).name
        if dest.startswith(STUBS_DIR):
            return True
        return typecode == "EXTENSION" or "Qt/plugins/" in dest or name.startswith(_LOADED_BY_NAME)

    by_name = {Path(dest).name: (dest, src) for dest, src, _ in kept if not dest.startswith(STUBS_DIR)}
    reached: set[str] = set()
    todo = [Path(dest).name for dest, _, typecode in kept if is_root(dest, typecode)]
    while todo:
        name = todo.pop()
        if name in reached or name not in by_name:
            continue
        reached.add(name)
        todo.extend(_needed(by_name[name][1]))
    return [b for b in kept if b[0].startswith(STUBS_DIR) or Path(b[0]).name in reached]


def drop_dangling_symlinks(
    binaries: list[tuple[str, str, str]], datas: list[tuple[str, str, str]]
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """PyInstaller's top-level symlinks (``libQt6Svg.so.6 -> PySide6/Qt/lib/...``) to pruned files."""
    import os.path

    present = {dest for dest, _, typecode in [*binaries, *datas] if typecode != "SYMLINK"}

    def keep(entry: tuple[str, str, str]) -> bool:
        dest, target, typecode = entry
        return (
            typecode != "SYMLINK" or os.path.normpath(os.path.join(os.path.dirname(dest), target)) in present
        )

    return [b for b in binaries if keep(b)], [d for d in datas if keep(d)]


def app_datas() -> list[tuple[str, str]]:
    """The runtime data, and the app's compiled catalogues (``python -m client_desktop.ui.i18n.build``,
    run by build.sh first) where ``client_desktop.ui.i18n`` looks for them."""
    i18n = ROOT / "client_desktop" / "ui" / "i18n"
    catalogues = sorted(i18n.glob("voxroom_*.qm"))
    if not catalogues:
        raise SystemExit(f"no .qm in {i18n}: python -m client_desktop.ui.i18n.build")
    return [*runtime_datas(), *((str(qm), "client_desktop/ui/i18n") for qm in catalogues)]


def prune_app_datas(datas: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Qt's own translations but for the languages we speak (its buttons, in ours), livekit's
    notebook widget."""
    spoken = tuple(
        f"PySide6/Qt/translations/qtbase_{qm.stem.removeprefix('voxroom_')}.qm"
        for qm in (ROOT / "client_desktop" / "ui" / "i18n").glob("voxroom_*.qm")
    )

    def unused(dest: str) -> bool:
        if dest.startswith("PySide6/Qt/translations/"):
            return not dest.startswith(spoken)
        return dest.startswith("livekit/rtc/resources/jupyter-html/")

    return [d for d in datas if not unused(d[0])]


def app_icon_for_platform() -> str | None:
    icons = ROOT / "build" / "icons"
    name = {"win32": "voxroom.ico", "darwin": "voxroom.icns"}.get(sys.platform)
    if name is None:
        return None  # Linux: the icon goes with the .desktop entry (build.sh)
    path = icons / name
    return str(path) if path.is_file() else None


MAC_ENTITLEMENTS = ROOT / "packaging" / "macos" / "voxroom.entitlements"


def mac_info_plist() -> dict[str, object]:
    """Info.plist keys of Voxroom.app. Without NSMicrophoneUsageDescription macOS never asks for the
    microphone and the app records silence (or is killed, on recent versions)."""
    return {
        "CFBundleName": "Voxroom",
        "CFBundleDisplayName": "Voxroom",
        "CFBundleShortVersionString": VERSION,
        "CFBundleVersion": VERSION,
        "NSMicrophoneUsageDescription": "Voxroom sends your voice to the people in your room.",
        "NSHighResolutionCapable": True,
        "LSMinimumSystemVersion": "11.0",
        "LSApplicationCategoryType": "public.app-category.social-networking",
    }
