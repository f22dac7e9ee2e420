"""Single logout: RP-Initiated Logout 1.0 (the ``end_session_endpoint``) and Back-Channel Logout
1.0 (logout tokens to every portal an ended session reached, through the outbox)."""
