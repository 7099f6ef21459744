"""whistles

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('whistles',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('ticket', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('dept_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('dept_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('blower_unit_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('blower_unit_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('district_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('street_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('need', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('summoned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sign_due', sa.DateTime(timezone=True), nullable=True),
    sa.Column('contact_due', sa.DateTime(timezone=True), nullable=True),
    sa.Column('report_due', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('contacted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_in_time', sa.Boolean(), nullable=True),
    sa.Column('reported_in_time', sa.Boolean(), nullable=True),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('rating_note', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('whistles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_whistles_blower_unit_id'), ['blower_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_whistles_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_whistles_dept_id'), ['dept_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_whistles_step'), ['step'], unique=False)
        batch_op.create_index(batch_op.f('ix_whistles_street_id'), ['street_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_whistles_summoned_at'), ['summoned_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_whistles_ticket'), ['ticket'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('whistles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_whistles_ticket'))
        batch_op.drop_index(batch_op.f('ix_whistles_summoned_at'))
        batch_op.drop_index(batch_op.f('ix_whistles_street_id'))
        batch_op.drop_index(batch_op.f('ix_whistles_step'))
        batch_op.drop_index(batch_op.f('ix_whistles_dept_id'))
        batch_op.drop_index(batch_op.f('ix_whistles_case_id'))
        batch_op.drop_index(batch_op.f('ix_whistles_blower_unit_id'))

    op.drop_table('whistles')
