"""Signed QR codes of the e-card (issue 9; docs/qr-token.md).

``token`` (the format) and ``verifier`` (offline verification) are pure: a scanner imports them
without Flask or a database. ``service`` issues and opens codes on the platform, ``views`` serves
the channel API, the keys and the status list.
"""
