"""Scan-to-sign-in (扫码登录) on the PC: a QR for a short-lived login request that a channel app
approves with a channel assertion and number matching (docs/scan-signin.md)."""
