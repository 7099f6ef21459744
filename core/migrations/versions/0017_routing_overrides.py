"""routing overrides (routing that learns)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 09:00:00.000000

Supervisors' accepted routing rules: (category, street or district) → the unit dispatched first.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('routing_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('area_unit_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('unit_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('accepted_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoke_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_routing_overrides_category'), 'routing_overrides', ['category'], unique=False)
    op.create_index(op.f('ix_routing_overrides_area_unit_id'), 'routing_overrides', ['area_unit_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_routing_overrides_area_unit_id'), table_name='routing_overrides')
    op.drop_index(op.f('ix_routing_overrides_category'), table_name='routing_overrides')
    op.drop_table('routing_overrides')
