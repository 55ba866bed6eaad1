"""The README's screenshots are made, in both languages and palettes, with nothing cut off."""

import os
import subprocess
import sys
from pathlib import Path

from .launch import app_env

SHOTS_ENV = "VOXROOM_SCREENSHOT_DIR"
"""Where the pictures go to be looked at (docs/screenshots for the README); a temporary folder otherwise."""


def test_every_screen_in_english_and_russian_light_and_dark_fits_its_words(tmp_path: Path) -> None:
    out = Path(os.environ.get(SHOTS_ENV, tmp_path))
    env = app_env(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "tests.ui.shots", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "nothing clipped"
    for screen in ("login", "hosting", "room", "settings"):
        for variant in ("en-light", "en-dark", "ru-light", "ru-dark"):
            assert (out / f"{screen}-{variant}.png").stat().st_size > 10_000
