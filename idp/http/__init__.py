"""The HTTP edge: the back channel, request ids, logs, servers, discovery, userinfo, OpenAPI."""
