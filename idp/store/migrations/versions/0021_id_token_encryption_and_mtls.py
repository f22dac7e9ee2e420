"""ID token encryption (OIDC Registration 2) and mutual TLS (RFC 8705) client metadata.

- ``channels.id_token_encrypted_response_alg`` / ``_enc``: ID tokens encrypted to the client.
- ``channels.tls_client_auth_subject_dn``: the certificate subject of ``tls_client_auth`` (2.1.2).
- ``channels.tls_client_certificate_bound_access_tokens``: the client metadata of 3.4.

Revision ID: 0021
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("id_token_encrypted_response_alg", sa.String(32), nullable=True))
        batch.add_column(sa.Column("id_token_encrypted_response_enc", sa.String(32), nullable=True))
        batch.add_column(sa.Column("tls_client_auth_subject_dn", sa.String(512), nullable=True))
        batch.add_column(
            sa.Column(
                "tls_client_certificate_bound_access_tokens",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("tls_client_certificate_bound_access_tokens")
        batch.drop_column("tls_client_auth_subject_dn")
        batch.drop_column("id_token_encrypted_response_enc")
        batch.drop_column("id_token_encrypted_response_alg")
