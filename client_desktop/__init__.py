"""Voxroom's desktop client: the Qt-free call ``engine`` and, on top, the PySide6 ``ui``."""

import importlib.metadata

__version__ = importlib.metadata.version("voxroom")
"""From the installed distribution, so ``pyproject.toml`` is the one place it is written."""
