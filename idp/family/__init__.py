"""Family proxy (亲情服务): relationships, consent, delegation, and pension eligibility
certification by the pensioner or a relative (docs/family.md)."""
