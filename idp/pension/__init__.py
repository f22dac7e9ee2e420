"""Pension eligibility certification (养老待遇资格认证): by the pensioner, or by a relative
with the power and the pensioner's own face in the same flow (docs/family.md)."""
