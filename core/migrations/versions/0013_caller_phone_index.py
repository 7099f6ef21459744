"""caller phone index

Revision ID: 0013_evidence
Revises: 0017
Create Date: 2026-12-02 09:00:00.000000

Intake shows a caller's earlier calls by phone number (issue 12): `cases.reporter_phone` gets
an index. The revision id is this branch's; the lead relinks it on merge.
"""
from alembic import op


revision = '0013_evidence'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_reporter_phone'), ['reporter_phone'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_reporter_phone'))
