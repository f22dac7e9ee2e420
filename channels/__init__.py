"""Channels: the kinds of OAuth client, their registry, and (issue 3) their native adapters."""

from channels.client import Client
from channels.kinds import ChannelKind

__all__ = ["ChannelKind", "Client"]
