"""Voxroom's desktop client: the Qt-free call ``engine`` and, on top, the PySide6 ``ui``."""


def __getattr__(name: str) -> str:
    """``__version__``, from the installed distribution, so ``pyproject.toml`` is the one place it is
    written; read when asked, since ``importlib.metadata`` (email, zipfile, csv) cost the app's start
    ~40 ms."""
    if name == "__version__":
        import importlib.metadata

        return importlib.metadata.version("voxroom")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
