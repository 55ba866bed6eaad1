"""The desktop UI: PySide6 widgets and the one bridge QObject between them and the engine."""
