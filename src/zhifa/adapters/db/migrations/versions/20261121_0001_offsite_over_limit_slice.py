"""offsite over-limit slice

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "enterprises",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=True),
        sa.Column("address", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprises")),
        sa.UniqueConstraint("uscc", name=op.f("uq_enterprises_uscc")),
    )
    op.create_table(
        "jurisdictions",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("parent_code", sa.String(length=6), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("authority", sa.String(length=128), nullable=False),
        sa.Column("label_lon", sa.Double(), nullable=True),
        sa.Column("label_lat", sa.Double(), nullable=True),
        sa.Column("boundary_geojson", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["jurisdictions.code"], name=op.f("fk_jurisdictions_parent_code_jurisdictions")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_jurisdictions")),
    )
    with op.batch_alter_table("jurisdictions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jurisdictions_parent_code"), ["parent_code"], unique=False)

    op.create_table(
        "number_sequences",
        sa.Column("series", sa.String(length=128), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("series", name=op.f("pk_number_sequences")),
    )
    op.create_table(
        "vehicles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("plate_colour", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("axles", sa.SmallInteger(), nullable=False),
        sa.Column("enterprise_id", sa.String(length=36), nullable=True),
        sa.Column("owner_name", sa.String(length=128), nullable=False),
        sa.Column("licensed_gross_kg", sa.Integer(), nullable=True),
        sa.Column("single_drive_axle", sa.Boolean(), nullable=False),
        sa.Column("single_tyre_axles", sa.SmallInteger(), nullable=False),
        sa.Column("gb1589_exempt", sa.Boolean(), nullable=False),
        sa.Column("transport_certificate", sa.String(length=32), nullable=False),
        sa.Column("home_division", sa.String(length=6), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprises.id"], name=op.f("fk_vehicles_enterprise_id_enterprises")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicles")),
        sa.UniqueConstraint("plate", "plate_colour", name="uq_vehicles_plate_colour"),
    )
    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vehicles_enterprise_id"), ["enterprise_id"], unique=False)

    op.create_table(
        "weighing_sites",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=6), nullable=False),
        sa.Column("road", sa.String(length=64), nullable=False),
        sa.Column("accuracy_class", sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column("tolerance_pct", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("device_serial", sa.String(length=64), nullable=False),
        sa.Column("verification_certificate", sa.String(length=64), nullable=False),
        sa.Column("verified_on", sa.Date(), nullable=True),
        sa.Column("verification_valid_until", sa.Date(), nullable=True),
        sa.Column("enforcement_approved_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["jurisdiction_code"],
            ["jurisdictions.code"],
            name=op.f("fk_weighing_sites_jurisdiction_code_jurisdictions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weighing_sites")),
    )
    with op.batch_alter_table("weighing_sites", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_weighing_sites_jurisdiction_code"), ["jurisdiction_code"], unique=False
        )

    op.create_table(
        "weighings",
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=6), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("plate_colour", sa.SmallInteger(), nullable=False),
        sa.Column("axles", sa.SmallInteger(), nullable=False),
        sa.Column("gross_kg", sa.Integer(), nullable=False),
        sa.Column(
            "axle_loads_kg",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("height_mm", sa.Integer(), nullable=True),
        sa.Column("width_mm", sa.Integer(), nullable=True),
        sa.Column("length_mm", sa.Integer(), nullable=True),
        sa.Column("speed_kmh", sa.Numeric(precision=6, scale=1), nullable=True),
        sa.Column("lane", sa.SmallInteger(), nullable=True),
        sa.Column("direction", sa.String(length=32), nullable=True),
        sa.Column("vehicle_kind", sa.String(length=32), nullable=True),
        sa.Column(
            "images",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disposition", sa.String(length=32), nullable=False),
        sa.Column("disposition_reason", sa.Text(), nullable=False),
        sa.Column(
            "assessment",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("alert_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"], ["weighing_sites.id"], name=op.f("fk_weighings_site_id_weighing_sites")
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_weighings")),
    )
    with op.batch_alter_table("weighings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_weighings_disposition"), ["disposition"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_weighings_jurisdiction_code"), ["jurisdiction_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_weighings_measured_at"), ["measured_at"], unique=False)
        batch_op.create_index("ix_weighings_site_time", ["site_id", "measured_at"], unique=False)
        batch_op.create_index("ix_weighings_vehicle", ["plate", "plate_colour"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("plate_colour", sa.SmallInteger(), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=6), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("weighing_record_id", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "basis",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("no_case_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["jurisdiction_code"],
            ["jurisdictions.code"],
            name=op.f("fk_alerts_jurisdiction_code_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["weighing_sites.id"], name=op.f("fk_alerts_site_id_weighing_sites")
        ),
        sa.ForeignKeyConstraint(
            ["weighing_record_id"],
            ["weighings.record_id"],
            name=op.f("fk_alerts_weighing_record_id_weighings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("weighing_record_id", name=op.f("uq_alerts_weighing_record_id")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_jurisdiction_code"), ["jurisdiction_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_occurred_at"), ["occurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_status"), ["status"], unique=False)
        batch_op.create_index("ix_alerts_vehicle", ["plate", "plate_colour"], unique=False)

    op.create_table(
        "cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_number", sa.String(length=64), nullable=True),
        sa.Column("procedure", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("jurisdiction_code", sa.String(length=6), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("plate_colour", sa.SmallInteger(), nullable=False),
        sa.Column("party_kind", sa.String(length=16), nullable=False),
        sa.Column("party_name", sa.String(length=128), nullable=False),
        sa.Column("party_enterprise_id", sa.String(length=36), nullable=True),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("weighing_record_id", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column(
            "proposed_penalty",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "basis",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewer_name", sa.String(length=64), nullable=True),
        sa.Column("reviewer_credential", sa.String(length=32), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=False),
        sa.Column("notice_document_id", sa.String(length=36), nullable=True),
        sa.Column("notice_issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_cases_alert_id_alerts")),
        sa.ForeignKeyConstraint(
            ["jurisdiction_code"],
            ["jurisdictions.code"],
            name=op.f("fk_cases_jurisdiction_code_jurisdictions"),
        ),
        sa.ForeignKeyConstraint(
            ["party_enterprise_id"], ["enterprises.id"], name=op.f("fk_cases_party_enterprise_id_enterprises")
        ),
        sa.ForeignKeyConstraint(
            ["weighing_record_id"],
            ["weighings.record_id"],
            name=op.f("fk_cases_weighing_record_id_weighings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("alert_id", name=op.f("uq_cases_alert_id")),
        sa.UniqueConstraint("case_number", name=op.f("uq_cases_case_number")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_jurisdiction_code"), ["jurisdiction_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_opened_at"), ["opened_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_status"), ["status"], unique=False)
        batch_op.create_index("ix_cases_vehicle", ["plate", "plate_colour"], unique=False)

    op.create_table(
        "case_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_records_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_records")),
    )
    with op.batch_alter_table("case_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_records_case_id"), ["case_id"], unique=False)

    op.create_table(
        "documents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("case_number", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_documents_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_case_id"), ["case_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_case_id"))

    op.drop_table("documents")
    with op.batch_alter_table("case_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_records_case_id"))

    op.drop_table("case_records")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_vehicle")
        batch_op.drop_index(batch_op.f("ix_cases_status"))
        batch_op.drop_index(batch_op.f("ix_cases_opened_at"))
        batch_op.drop_index(batch_op.f("ix_cases_jurisdiction_code"))

    op.drop_table("cases")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_vehicle")
        batch_op.drop_index(batch_op.f("ix_alerts_status"))
        batch_op.drop_index(batch_op.f("ix_alerts_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_alerts_jurisdiction_code"))

    op.drop_table("alerts")
    with op.batch_alter_table("weighings", schema=None) as batch_op:
        batch_op.drop_index("ix_weighings_vehicle")
        batch_op.drop_index("ix_weighings_site_time")
        batch_op.drop_index(batch_op.f("ix_weighings_measured_at"))
        batch_op.drop_index(batch_op.f("ix_weighings_jurisdiction_code"))
        batch_op.drop_index(batch_op.f("ix_weighings_disposition"))

    op.drop_table("weighings")
    with op.batch_alter_table("weighing_sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_weighing_sites_jurisdiction_code"))

    op.drop_table("weighing_sites")
    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vehicles_enterprise_id"))

    op.drop_table("vehicles")
    op.drop_table("number_sequences")
    with op.batch_alter_table("jurisdictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jurisdictions_parent_code"))

    op.drop_table("jurisdictions")
    op.drop_table("enterprises")
