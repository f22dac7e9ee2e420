"""OpenID Connect: pairwise subjects, claims, ID tokens and discovery."""
