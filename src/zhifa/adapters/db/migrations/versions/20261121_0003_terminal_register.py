"""terminal register: 车载终端档案, the JT/T 808 terminals the gateway authenticates against

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "terminals",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("device_id", sa.String(length=30), nullable=True),
        sa.Column("maker", sa.String(length=11), nullable=True),
        sa.Column("model", sa.String(length=30), nullable=True),
        sa.Column("auth_code_sha256", sa.String(length=64), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicles.id"], name=op.f("fk_terminals_vehicle_id_vehicles")
        ),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_terminals")),
        sa.UniqueConstraint("vehicle_id", name=op.f("uq_terminals_vehicle_id")),
    )
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_terminals_enrolled_at"), ["enrolled_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_terminals_enrolled_at"))

    op.drop_table("terminals")
