"""Sign-in and consent in the browser: sessions, interactions, consents, code issuance, pages."""
