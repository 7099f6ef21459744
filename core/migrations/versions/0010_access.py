"""access

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bulk_jobs',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('unit_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('expected', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bulk_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulk_jobs_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_bulk_jobs_unit_id'), ['unit_id'], unique=False)
    # The "recorded by this user" arm of the access clause (core.access).
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_taken_by', ['taken_by'], unique=False)
    with op.batch_alter_table('linked_reports', schema=None) as batch_op:
        batch_op.create_index('ix_linked_reports_taken_by', ['taken_by'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('linked_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_linked_reports_taken_by')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_taken_by')
    with op.batch_alter_table('bulk_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulk_jobs_unit_id'))
        batch_op.drop_index(batch_op.f('ix_bulk_jobs_created_by'))
    op.drop_table('bulk_jobs')
