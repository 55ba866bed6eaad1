"""The app's languages: English in the code, Russian from ``voxroom_ru.ts`` (built to ``.qm``).

The language follows the system's (``QLocale.system()``) unless Settings
says otherwise; it is chosen once, before the first window is built, so
a change in Settings applies at the next start. Qt's own strings (the
standard dialog buttons) come from the ``qtbase`` catalogue the PySide6
wheel ships. The ``.qm`` files are built from the ``.ts`` sources by
``python -m client_desktop.ui.i18n.build`` (tests and packaging run it);
without one the app simply stays in English.
"""

from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

HERE = Path(__file__).parent
TRANSLATED = ("ru",)
"""Languages with a ``voxroom_<code>.ts`` here; English is the source language."""


class Language(StrEnum):
    """The choice in Settings, stored by value."""

    SYSTEM = "system"
    ENGLISH = "en"
    RUSSIAN = "ru"


NATIVE_NAMES = {Language.ENGLISH: "English", Language.RUSSIAN: "Русский"}
"""Each language named in itself, so someone lost in a language they cannot read finds their own."""


def ts_path(code: str) -> Path:
    return HERE / f"voxroom_{code}.ts"


def qm_path(code: str) -> Path:
    return HERE / f"voxroom_{code}.qm"


def resolve(choice: Language, system: QLocale | None = None) -> str:
    """The language code to use: the choice, or for ``SYSTEM`` the first of the system's UI
    languages we have, else English."""
    if choice is not Language.SYSTEM:
        return choice.value
    for tag in (system or QLocale.system()).uiLanguages():
        code = tag.replace("_", "-").split("-")[0].lower()
        if code in TRANSLATED or code == "en":
            return code
    return "en"


def load(code: str) -> list[QTranslator]:
    """The catalogues for ``code`` (ours, then Qt's own), not yet installed; none for English, or
    when our ``.qm`` is missing."""
    if code == "en":
        return []
    ours = QTranslator()
    if not ours.load(str(qm_path(code))):
        return []
    qt = QTranslator()
    if not qt.load(f"qtbase_{code}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        return [ours]
    return [ours, qt]


def install(app: QCoreApplication, choice: Language) -> str:
    """Load the chosen language into ``app``; returns the code in use ("en" when its ``.qm`` is
    missing). Call before building any widget: texts are read when widgets are made."""
    translators = load(resolve(choice))
    for translator in translators:
        translator.setParent(app)  # kept alive as long as the app
        app.installTranslator(translator)
    if not translators:
        return "en"
    code = resolve(choice)
    QLocale.setDefault(QLocale(code))  # dates and numbers as the words are
    return code
