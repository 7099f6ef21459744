"""privacy: consent to publish a report's text, and the log of unmasked personal-data views

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('publication_consents',
    sa.Column('ticket', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('publish', sa.Boolean(), nullable=False),
    sa.Column('basis', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('ticket')
    )
    op.create_table('personal_data_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('viewer_username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('viewer_role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('viewer_unit_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('subject_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('subject_key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('area_path', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('route', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('personal_data_views', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_personal_data_views_area_path'), ['area_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_personal_data_views_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_personal_data_views_subject_key'), ['subject_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_personal_data_views_viewer_username'), ['viewer_username'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('personal_data_views', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_personal_data_views_viewer_username'))
        batch_op.drop_index(batch_op.f('ix_personal_data_views_subject_key'))
        batch_op.drop_index(batch_op.f('ix_personal_data_views_at'))
        batch_op.drop_index(batch_op.f('ix_personal_data_views_area_path'))
    op.drop_table('personal_data_views')
    op.drop_table('publication_consents')
