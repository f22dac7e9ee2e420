"""OAuth 2.0 protocol code (RFC 6749 and its extensions), one module per spec or step.

Nothing here imports Flask or SQLAlchemy: views hand in parsed parameters and storage objects
that satisfy the Protocols in ``idp.oauth.storage``.
"""
