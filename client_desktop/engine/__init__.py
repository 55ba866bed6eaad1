"""The call engine: signaling client, peer-to-peer mesh, audio. Knows no Qt.

It runs on any asyncio loop: the desktop app's (qasync) or ``voxroom-bot``'s.
"""
