"""measures

Revision ID: 0014
Revises: 0013_evidence
Create Date: 2026-12-02 10:00:00.000000

Measures (issue 13): `case_stages` (every stage a case went through, with its deadline, whether
it was met, reminders, rungs, returns, reworks, extensions) and `case_facts` (what the measures
count per case, with the dimensions they group by), backfilled from `case_events` by the same
derivation the projection uses (core/measures/store.py).

Revises 0012, the last revision at this branch's start; the lead relinks it when merging.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

OPEN_CASE = "status NOT IN ('CLOSED', 'ARCHIVED', 'VOIDED')"


revision = '0014'
down_revision = '0013_evidence'
branch_labels = None
depends_on = None


def _str(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _counts(*names: str) -> list[sa.Column]:
    return [sa.Column(n, sa.Integer(), nullable=False) for n in names]


def upgrade() -> None:
    op.create_table('case_stages',
    sa.Column('case_id', _str(120), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('stage', _str(16), nullable=False),
    sa.Column('unit_id', _str(64), nullable=False),
    _ts('started_at', nullable=False), _ts('ended_at'), _ts('due_at'),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('met', sa.Boolean(), nullable=True),
    *_counts('reminders', 'escalations', 'returns', 'reworks', 'extensions'),
    sa.PrimaryKeyConstraint('case_id', 'n')
    )
    op.create_table('case_facts',
    sa.Column('case_id', _str(120), nullable=False),
    sa.Column('district_id', _str(64), nullable=False),
    sa.Column('street_id', _str(64), nullable=False),
    sa.Column('unit_id', _str(64), nullable=False),
    sa.Column('category', _str(64), nullable=False),
    sa.Column('channel', _str(32), nullable=False),
    sa.Column('request_kind', _str(8), nullable=False),
    sa.Column('location_path', _str(400), nullable=False),
    sa.Column('status', _str(16), nullable=False),
    _ts('received_at', nullable=False), _ts('dispatched_at'),
    sa.Column('first_unit_id', _str(64), nullable=False),
    _ts('accepted_at'), sa.Column('accept_met', sa.Boolean(), nullable=True),
    _ts('feedback_at'), sa.Column('feedback_met', sa.Boolean(), nullable=True),
    _ts('closed_at'), sa.Column('closed_on_time', sa.Boolean(), nullable=True),
    sa.Column('handling_minutes', sa.Integer(), nullable=True),
    _ts('first_contact_at'),
    sa.Column('satisfaction', _str(32), nullable=False),
    sa.Column('resolved', sa.Boolean(), nullable=True),
    sa.Column('unreachable', sa.Boolean(), nullable=False),
    *_counts('callbacks', 'returns', 'reworks', 'extensions', 'reminders', 'escalations',
             'whistles'),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('voided', sa.Boolean(), nullable=False),
    sa.Column('direct_answer', sa.Boolean(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('case_id')
    )
    with op.batch_alter_table('case_facts', schema=None) as batch_op:
        batch_op.create_index('ix_case_facts_received', ['received_at', 'district_id'])
        batch_op.create_index('ix_case_facts_open', ['closed_at', 'district_id'])
    # Open cases through a partial index: the overview reads a few percent of the table.
    op.create_index('ix_cases_open_path', 'cases', ['location_path'],
                    postgresql_where=sa.text(OPEN_CASE), sqlite_where=sa.text(OPEN_CASE))
    _backfill()


def _backfill() -> None:
    # The projection's own derivation, so old and new cases are counted alike. The monthly
    # sums of these facts come with their table, in 0018.
    from core.measures.store import backfill

    backfill(op.get_bind(), sums=False)


def downgrade() -> None:
    op.drop_index('ix_cases_open_path', table_name='cases')
    with op.batch_alter_table('case_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_case_facts_open')
        batch_op.drop_index('ix_case_facts_received')
    op.drop_table('case_facts')
    op.drop_table('case_stages')
