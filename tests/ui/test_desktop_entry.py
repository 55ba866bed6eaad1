"""The application menu's entry: it opens ``voxroom://`` links and the app accepts what it passes."""

import configparser
import shutil
import subprocess
from pathlib import Path

from client_desktop.app import parse_args
from client_desktop.links import SCHEME

LINUX = Path(__file__).parents[2] / "packaging" / "linux"


def entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_the_entry_hands_one_link_to_the_app_and_claims_the_scheme() -> None:
    desktop = entry(LINUX / "voxroom.desktop")
    assert desktop["Exec"] == "voxroom %u"  # %u: one URL or nothing; %U could pass several
    assert f"x-scheme-handler/{SCHEME};" in desktop["MimeType"]
    assert (
        parse_args(["voxroom://voice.example.org:8765/lobby"]).link
        == "voxroom://voice.example.org:8765/lobby"
    )
    assert parse_args([]).link is None  # %u expands to nothing when started from the menu


def test_the_installer_points_the_entry_at_the_bundle_and_keeps_the_link(tmp_path: Path) -> None:
    bundle = tmp_path / "voxroom"
    (bundle / "share" / "applications").mkdir(parents=True)
    (bundle / "share" / "icons" / "hicolor" / "256x256" / "apps").mkdir(parents=True)
    (bundle / "share" / "icons" / "hicolor" / "256x256" / "apps" / "voxroom.png").write_bytes(b"png")
    shutil.copy(LINUX / "voxroom.desktop", bundle / "share" / "applications")
    shutil.copy(LINUX / "install-desktop-entry.sh", bundle)
    data = tmp_path / "data"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(data)}
    subprocess.run(["sh", str(bundle / "install-desktop-entry.sh")], env=env, check=True, capture_output=True)
    installed = entry(data / "applications" / "voxroom.desktop")
    assert installed["Exec"] == f'"{bundle}/voxroom" %u'
    assert installed["MimeType"] == "x-scheme-handler/voxroom;"
