"""Family proxy (亲情服务): relationships, consent, delegation (docs/family.md)."""
