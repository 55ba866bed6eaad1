"""Voxroom's signaling server: rooms, chat history and WebRTC signaling relay.

Layers: ``hub`` (the rooms core, pure) <- ``transport`` (websockets) <- ``app``
(assembly, HTTP, lifecycle) <- ``__main__`` (flags, signals). Imports
``protocol`` and nothing else of ours.
"""

__version__ = "0.1.0"
