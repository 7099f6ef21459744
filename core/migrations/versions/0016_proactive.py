"""proactive sources (未诉先办)

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-02 09:00:00.000000

The closed cases that made a place recurring, linked to the proactive case opened there.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0016'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('proactive_sources',
    sa.Column('proactive_ticket', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('source_ticket', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.PrimaryKeyConstraint('proactive_ticket', 'source_ticket')
    )
    op.create_index(op.f('ix_proactive_sources_source_ticket'), 'proactive_sources', ['source_ticket'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_proactive_sources_source_ticket'), table_name='proactive_sources')
    op.drop_table('proactive_sources')
