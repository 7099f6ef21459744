"""uploads

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:00:00.000000

A row per accepted upload (quotas, clean-up of files no case took), backfilled with one row per
file stored before, dated when it was stored; and on attachments whether a copy without location
metadata is kept (NULL for files stored before: their copy is made when first served).
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('uploader_kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('uploader_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attached', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_uploads_sha256'), ['sha256'], unique=False)
        batch_op.create_index('ix_uploads_uploader', ['uploader_kind', 'uploader_id', 'created_at'], unique=False)
        batch_op.create_index('ix_uploads_address', ['uploader_kind', 'address', 'created_at'], unique=False)
        batch_op.create_index('ix_uploads_pending', ['attached', 'created_at'], unique=False)

    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clean_copy', sa.Boolean(), nullable=True))

    # Files stored before: one upload each, so that the clean-up knows them too.
    op.execute(
        "INSERT INTO uploads (sha256, uploader_kind, uploader_id, address, size, created_at, attached)"
        " SELECT a.sha256,"
        " CASE WHEN a.uploaded_by = 'public' THEN 'public' ELSE 'user' END,"
        " a.uploaded_by, '', a.size, a.uploaded_at,"
        " EXISTS (SELECT 1 FROM case_attachments c WHERE c.sha256 = a.sha256)"
        " FROM attachments a"
    )


def downgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_column('clean_copy')

    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_index('ix_uploads_pending')
        batch_op.drop_index('ix_uploads_address')
        batch_op.drop_index('ix_uploads_uploader')
        batch_op.drop_index(batch_op.f('ix_uploads_sha256'))

    op.drop_table('uploads')
