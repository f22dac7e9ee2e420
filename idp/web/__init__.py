"""Flask views: they translate HTTP to calls into the protocol code and results back to HTTP."""
