"""The caller of a channel API: OAuth bearer, mTLS (RFC 8705) and the channels' native schemes."""
