"""Study sessions carry the fraction of a second a heartbeat earned beyond whole seconds

Revision ID: 0008_study_carry
Revises: 0007_scheduler
Create Date: 2026-11-21 12:47:49.735996

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_study_carry'
down_revision = '0007_scheduler'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('study_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carry_seconds', sa.Float(), server_default=sa.text('0'), nullable=False))



def downgrade():
    with op.batch_alter_table('study_session', schema=None) as batch_op:
        batch_op.drop_column('carry_seconds')

