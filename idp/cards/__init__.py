"""The physical card's lifecycle and the changes channels ask for (docs/card-lifecycle.md)."""
