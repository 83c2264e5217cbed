"""OCPI tables: partners, partner endpoints, eMSP tokens, commands, outbox.

Mirrors :mod:`kilowatt.storage.ocpi_models` at the time of writing, with plain SQL types.

Revision ID: 0002_ocpi
Revises: 0001_initial
Create Date: 2026-11-21 10:02:18
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_ocpi"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ocpi_partners",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.String(length=8), nullable=True),
        sa.Column("versions_url", sa.Text(), nullable=True),
        sa.Column("token_a_hash", sa.String(length=64), nullable=True),
        sa.Column("token_c_hash", sa.String(length=64), nullable=True),
        sa.Column("their_token", sa.String(length=64), nullable=True),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("party_id", sa.String(length=3), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("hub_party_id", sa.String(length=5), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_partners")),
    )
    op.create_index(op.f("ix_ocpi_partners_token_a_hash"), "ocpi_partners", ["token_a_hash"])
    op.create_index(op.f("ix_ocpi_partners_token_c_hash"), "ocpi_partners", ["token_c_hash"])
    op.create_table(
        "ocpi_partner_endpoints",
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("identifier", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["ocpi_partners.id"],
            name=op.f("fk_ocpi_partner_endpoints_partner_id_ocpi_partners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "partner_id", "identifier", "role", name=op.f("pk_ocpi_partner_endpoints")
        ),
    )
    op.create_table(
        "ocpi_tokens",
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("party_id", sa.String(length=3), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=True),
        sa.Column("whitelist", sa.String(length=16), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "country_code", "party_id", "uid", "type", name=op.f("pk_ocpi_tokens")
        ),
    )
    op.create_index("ix_ocpi_tokens_uid", "ocpi_tokens", ["uid"])
    op.create_table(
        "ocpi_commands",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("response_url", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("result", sa.String(length=24), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_commands")),
    )
    op.create_index(op.f("ix_ocpi_commands_state"), "ocpi_commands", ["state"])
    op.create_table(
        "ocpi_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner_id", sa.String(length=36), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("module", sa.String(length=32), nullable=True),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ocpi_outbox")),
    )
    op.create_index(op.f("ix_ocpi_outbox_next_attempt_at"), "ocpi_outbox", ["next_attempt_at"])
    op.create_index(op.f("ix_ocpi_outbox_partner_id"), "ocpi_outbox", ["partner_id"])


def downgrade() -> None:
    op.drop_table("ocpi_outbox")
    op.drop_table("ocpi_commands")
    op.drop_table("ocpi_tokens")
    op.drop_table("ocpi_partner_endpoints")
    op.drop_table("ocpi_partners")
