"""The language choice Settings shows: the system's, or one of ours, named in itself.

The choice is saved as it is made and applies at the next start (texts
are read when the widgets are built, before any window shows), which the
box says under the list.
"""

from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QWidget

from .i18n import NATIVE_NAMES, Language
from .preferences import Preferences


class LanguageBox(QGroupBox):
    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Language"), parent)
        self.prefs = prefs
        self.choice = QComboBox()
        self.choice.setAccessibleName(self.tr("Language"))
        self.choice.addItem(self.tr("System language"), Language.SYSTEM)
        for language, name in NATIVE_NAMES.items():
            self.choice.addItem(name, language)
        self.choice.setCurrentIndex(self.choice.findData(prefs.language()))
        self.choice.currentIndexChanged.connect(self._chosen)
        self.hint = QLabel(self.tr("Voxroom starts in the chosen language the next time it opens."))
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow(self.tr("&Language"), self.choice)
        form.addRow(self.hint)

    def language(self) -> Language:
        return Language(self.choice.currentData())

    def _chosen(self, _index: int) -> None:
        self.prefs.save_language(self.language())
