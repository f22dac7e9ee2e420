"""The demo portal (a relying party) and its demo data."""
