"""E-cards: issuance, requests, the SD-JWT VC credential, the channel API views (docs/ecards.md)."""
