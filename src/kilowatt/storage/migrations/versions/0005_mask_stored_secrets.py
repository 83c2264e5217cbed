"""Mask station passwords stored in clear by earlier versions (issue 12 item 6).

Before this revision a 1.6 ``AuthorizationKey`` sent with ChangeConfiguration (or returned by a
station in a GetConfiguration answer) was kept in ``configuration_keys.value``, and a 2.x
``BasicAuthPassword`` in ``device_variables.value``, and both were shown by the API. Kilowatt
verifies station passwords against the scrypt hash in ``stations`` and never needs these
copies, so they become the mask of :mod:`kilowatt.csms.secrets` (the services store new ones
masked). Data only; there is nothing to restore on downgrade.

Revision ID: 0005_mask_stored_secrets
Revises: 0004_meter_values_key
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_mask_stored_secrets"
down_revision: str | None = "0004_meter_values_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Literal copies, not imports: a migration must keep doing what it did when it was written.
_MASK = "********"
_SECRET_KEYS = ("authorizationkey",)
_SECRET_VARIABLES = ("basicauthpassword",)


def upgrade() -> None:
    """Replace every stored secret setting value by the mask."""
    configuration = sa.table("configuration_keys", sa.column("key"), sa.column("value"))
    op.execute(
        configuration.update()
        .where(sa.func.lower(configuration.c.key).in_(_SECRET_KEYS))
        .where(configuration.c.value.is_not(None))
        .values(value=_MASK)
    )
    variables = sa.table("device_variables", sa.column("variable"), sa.column("value"))
    op.execute(
        variables.update()
        .where(sa.func.lower(variables.c.variable).in_(_SECRET_VARIABLES))
        .where(variables.c.value.is_not(None))
        .values(value=_MASK)
    )


def downgrade() -> None:
    """Nothing to undo: the passwords are gone, which is the point."""
