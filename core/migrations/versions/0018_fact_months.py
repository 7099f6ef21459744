"""monthly sums of the case facts

Revision ID: 0018_fact_months
Revises: 0014
Create Date: 2026-12-02 12:30:00.000000

Scale (issue 13): `case_fact_months`, the facts of each month summed per grouping, place and
group (counts, and a histogram of handling minutes), which a year's measures add up instead of
reading a million facts; and `ix_case_facts_minutes`, a partial index on the closed counted
facts' handling minutes (covering the group keys on PostgreSQL) from which the exact P90 reads
one histogram bucket. The sums are built from the facts already stored (core/measures/rollup.py).
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

COUNTED_CLOSED = "handling_minutes IS NOT NULL AND NOT direct_answer AND NOT voided"
# The counters as this revision has them (core/models.py FACT_MONTH_COUNTS, FACT_MONTH_BUCKETS).
MEASURES = ('response', 'resolution', 'satisfaction', 'closed_on_time', 'accepted_in_time',
            'feedback_on_time', 'rework', 'overdue', 'returned', 'extended', 'supervised',
            'whistled')
COUNTS = ('cases', *(f'{m}_{part}' for m in MEASURES for part in ('n', 'd')), 'minutes_n',
          'minutes_sum')
BUCKETS = 77
TEXT = sqlmodel.sql.sqltypes.AutoString
FACT_KEYS = ['location_path', 'district_id', 'street_id', 'unit_id', 'category', 'channel',
             'request_kind']


revision = '0018_fact_months'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_fact_months',
    sa.Column('grouping', TEXT(length=16), nullable=False),
    sa.Column('month', TEXT(length=7), nullable=False),
    sa.Column('place', TEXT(length=400), nullable=False),
    sa.Column('key', TEXT(length=64), nullable=False),
    *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS),
    *(sa.Column(f'h{b}', sa.Integer(), nullable=False) for b in range(BUCKETS)),
    sa.PrimaryKeyConstraint('grouping', 'month', 'place', 'key')
    )
    op.create_index('ix_case_facts_minutes', 'case_facts', ['handling_minutes', 'received_at'],
                    postgresql_include=FACT_KEYS,
                    postgresql_where=sa.text(COUNTED_CLOSED),
                    sqlite_where=sa.text(COUNTED_CLOSED))
    _backfill()


def _backfill() -> None:
    # The store's own summing, so the rows equal what the projection keeps from now on.
    from core.measures.rollup import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index('ix_case_facts_minutes', table_name='case_facts')
    op.drop_table('case_fact_months')
