"""Voxroom wire protocol v1: typed messages, limits, error codes and the codec.

The normative text is ``shared/protocol-v1.md``; this package is its single
source of truth in code and imports nothing else of ours.
"""

from . import limits
from .codec import decode_client, decode_server, encode
from .errors import AppCloseCode, ErrorCode, ProtocolError
from .messages import (
    Ban,
    ChatPosted,
    ClientMessage,
    ErrorReported,
    FetchHistory,
    HistoryFetched,
    IceServer,
    Join,
    Joined,
    Kick,
    Leave,
    LockRoom,
    ModAction,
    Moderated,
    ModRequest,
    Peer,
    PeerJoined,
    PeerLeft,
    PeerStateChanged,
    Role,
    SelfInfo,
    SendChat,
    SendSignal,
    ServerInfo,
    ServerMessage,
    ServerMute,
    SetState,
    SignalRelayed,
)
from .text import name_key

__all__ = [
    "AppCloseCode",
    "Ban",
    "ChatPosted",
    "ClientMessage",
    "ErrorCode",
    "ErrorReported",
    "FetchHistory",
    "HistoryFetched",
    "IceServer",
    "Join",
    "Joined",
    "Kick",
    "Leave",
    "LockRoom",
    "ModAction",
    "ModRequest",
    "Moderated",
    "Peer",
    "PeerJoined",
    "PeerLeft",
    "PeerStateChanged",
    "ProtocolError",
    "Role",
    "SelfInfo",
    "SendChat",
    "SendSignal",
    "ServerInfo",
    "ServerMessage",
    "ServerMute",
    "SetState",
    "SignalRelayed",
    "decode_client",
    "decode_server",
    "encode",
    "limits",
    "name_key",
]
