"""Voxroom's desktop client: the Qt-free call ``engine`` and, on top, the PySide6 ``ui``."""

__version__ = "0.1.0"
