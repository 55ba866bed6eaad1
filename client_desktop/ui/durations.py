"""A length of time in words, translated: bans are chosen and announced in it.

A ``QObject`` only so that lupdate reads the plural forms (it takes ``%n`` from ``self.tr`` alone);
"1 day" is said apart so English needs no catalogue of its own for plurals.
"""

from PySide6.QtCore import QObject


class Durations(QObject):
    def words(self, seconds: int) -> str:
        """``86400`` as "1 day", ``5400`` as "90 minutes": the largest unit that says it exactly."""
        if seconds >= 86_400 and seconds % 86_400 == 0:
            n = seconds // 86_400
            return self.tr("1 day") if n == 1 else self.tr("%n days", "", n)
        if seconds >= 3600 and seconds % 3600 == 0:
            n = seconds // 3600
            return self.tr("1 hour") if n == 1 else self.tr("%n hours", "", n)
        if seconds >= 60 and seconds % 60 == 0:
            n = seconds // 60
            return self.tr("1 minute") if n == 1 else self.tr("%n minutes", "", n)
        return self.tr("1 second") if seconds == 1 else self.tr("%n seconds", "", seconds)


def duration_words(seconds: int) -> str:
    return Durations().words(seconds)
