"""RP-Initiated Logout (OpenID Connect RP-Initiated Logout 1.0): the ``end_session_endpoint``."""
