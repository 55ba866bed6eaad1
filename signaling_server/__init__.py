"""Voxroom's signaling server: rooms, chat history and WebRTC signaling relay.

Layers: ``hub`` (the rooms core, pure) <- ``transport`` (websockets) <- ``app``
(assembly, HTTP, lifecycle) <- ``__main__`` (flags, signals). Imports
``protocol`` and nothing else of ours.
"""

import importlib.metadata

__version__ = importlib.metadata.version("voxroom")
"""From the installed distribution, so ``pyproject.toml`` is the one place it is written."""
