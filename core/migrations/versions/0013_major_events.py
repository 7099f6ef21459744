"""major events

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 09:00:00.000000

The read model of the major-event case type (issue 11): one row per event. New table only.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table('major_events',
    sa.Column('id', text(length=120), nullable=False),
    sa.Column('ticket', text(length=80), nullable=False),
    sa.Column('title', text(length=200), nullable=False),
    sa.Column('event_type', text(length=32), nullable=False),
    sa.Column('sub_type', text(length=32), nullable=False),
    sa.Column('grade', text(length=4), nullable=False),
    sa.Column('phase', text(length=16), nullable=False),
    sa.Column('district_id', text(length=64), nullable=False),
    sa.Column('lead_unit_id', text(length=64), nullable=False),
    sa.Column('commander', text(length=100), nullable=False),
    sa.Column('stations', sa.Integer(), nullable=False),
    sa.Column('stations_late', sa.Integer(), nullable=False),
    sa.Column('tasks_open', sa.Integer(), nullable=False),
    sa.Column('reports_late', sa.Integer(), nullable=False),
    sa.Column('next_report_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('linked', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_major_events_ticket', 'major_events', ['ticket'], unique=True)
    op.create_index('ix_major_events_phase', 'major_events', ['phase'], unique=False)
    op.create_index('ix_major_events_district_id', 'major_events', ['district_id'], unique=False)


def downgrade() -> None:
    op.drop_table('major_events')
