"""projection: the audit trail's hash chain, intake idempotency keys

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00.000000
"""
from types import SimpleNamespace

from alembic import op
import sqlalchemy as sa
import sqlmodel

from core.cases.audit import GENESIS, event_hash
from core.models import UTCDateTime


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

EVENTS = sa.table(
    'case_events',
    sa.column('id', sa.Integer), sa.column('case_id', sa.String), sa.column('seq', sa.Integer),
    sa.column('at', UTCDateTime()), sa.column('action', sa.String),
    sa.column('actor_username', sa.String), sa.column('actor_name', sa.String),
    sa.column('actor_role', sa.String), sa.column('actor_unit_id', sa.String),
    sa.column('from_status', sa.String), sa.column('to_status', sa.String),
    sa.column('reason', sa.String), sa.column('payload', sa.JSON),
    sa.column('prev_hash', sa.String), sa.column('hash', sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default=''))
    _chain_existing_events()
    op.create_table('intake_keys',
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('ticket', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('case_ticket', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'key')
    )
    with op.batch_alter_table('intake_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_keys_created_at'), ['created_at'], unique=False)


def _chain_existing_events() -> None:
    """Chain the events written before the chain existed, so `cityloop audit verify` holds."""
    conn = op.get_bind()
    rows = conn.execute(sa.select(EVENTS).order_by(EVENTS.c.case_id, EVENTS.c.seq))
    case_id, prev = None, GENESIS
    for row in rows.mappings().all():
        if row['case_id'] != case_id:
            case_id, prev = row['case_id'], GENESIS
        digest = event_hash(prev, SimpleNamespace(**row))
        conn.execute(
            EVENTS.update().where(EVENTS.c.id == row['id']).values(prev_hash=prev, hash=digest)
        )
        prev = digest


def downgrade() -> None:
    with op.batch_alter_table('intake_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_keys_created_at'))
    op.drop_table('intake_keys')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
