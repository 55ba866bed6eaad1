"""The AppStream metainfo's releases (what software centres show) agree with pyproject.toml's
version and CHANGELOG.md's releases: a release bumps all three or the suite fails."""

import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
METAINFO = ROOT / "packaging" / "linux" / "org.voxroom.Voxroom.metainfo.xml"


def _version() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


def metainfo_releases() -> list[tuple[str, str]]:
    """(version, date) of each ``<release>``, in the file's order."""
    releases = ET.parse(METAINFO).getroot().findall("./releases/release")
    return [(r.attrib["version"], r.attrib["date"]) for r in releases]


def changelog_releases(text: str) -> dict[str, str]:
    """Version to date of each ``## [X.Y.Z] - YYYY-MM-DD`` heading (Keep a Changelog)."""
    return dict(re.findall(r"^## \[(\d[^\]]*)\] - (\d{4}-\d{2}-\d{2})\s*$", text, re.MULTILINE))


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def test_the_newest_release_listed_is_the_version_built_and_the_list_runs_newest_first() -> None:
    releases = metainfo_releases()
    assert releases[0][0] == _version()
    assert releases == sorted(releases, key=lambda r: (_key(r[0]), r[1]), reverse=True)


def test_the_releases_are_the_changelogs_with_its_dates() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    released, listed = changelog_releases(changelog), dict(metainfo_releases())
    assert {version: listed.get(version) for version in released} == released
    # Listed but not yet in the changelog: only the version being built, still "Unreleased" there.
    assert set(listed) - set(released) <= {_version()}
    assert _version() in released or "## [Unreleased]" in changelog


def test_a_changelog_release_missing_from_the_metainfo_is_caught() -> None:
    text = "## [Unreleased]\n\n## [0.0.9] - 2026-11-01\n"
    assert changelog_releases(text) == {"0.0.9": "2026-11-01"}
    assert "0.0.9" not in dict(metainfo_releases())
