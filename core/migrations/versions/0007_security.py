"""security

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
