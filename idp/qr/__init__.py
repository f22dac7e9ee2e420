"""QR codes of the e-card (issue 9)."""
