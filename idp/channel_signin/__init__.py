"""Sign-in asserted by a channel: the channel assertion (docs/channel-assertion.md)."""
