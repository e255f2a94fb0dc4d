"""snapshot member rows keyed by snapshot and member, without foreign keys

A snapshot's member rows are the members as they were at the close, written only by the close's
one INSERT … SELECT from ``member`` in the transaction that makes the snapshot. Their three
foreign-key checks were 660,000 lookups at a city's close (a third of it) and the surrogate key
a sequence and an index more: the row is now keyed by (snapshot_id, member_id), which was
already unique.

Revision ID: 0024_snapshot_member_key
Revises: 0023_exports
Create Date: 2026-11-27 12:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024_snapshot_member_key'
down_revision = '0023_exports'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('point_snapshot_member', schema=None) as batch_op:
        batch_op.drop_constraint('uq_point_snapshot_member_snapshot_id_member_id', type_='unique')
        batch_op.drop_constraint('fk_point_snapshot_member_snapshot_id_point_snapshot', type_='foreignkey')
        batch_op.drop_constraint('fk_point_snapshot_member_member_id_member', type_='foreignkey')
        batch_op.drop_constraint('fk_point_snapshot_member_organisation_id_organisation', type_='foreignkey')
        batch_op.drop_constraint('pk_point_snapshot_member', type_='primary')
        batch_op.drop_column('id')
        batch_op.create_primary_key('pk_point_snapshot_member', ['snapshot_id', 'member_id'])


def downgrade():
    with op.batch_alter_table('point_snapshot_member', schema=None) as batch_op:
        batch_op.drop_constraint('pk_point_snapshot_member', type_='primary')
        batch_op.add_column(sa.Column('id', sa.Integer(), sa.Identity(), nullable=False))
        batch_op.create_primary_key('pk_point_snapshot_member', ['id'])
        batch_op.create_unique_constraint('uq_point_snapshot_member_snapshot_id_member_id', ['snapshot_id', 'member_id'])
        batch_op.create_foreign_key('fk_point_snapshot_member_snapshot_id_point_snapshot', 'point_snapshot',
                                    ['snapshot_id'], ['id'])
        batch_op.create_foreign_key('fk_point_snapshot_member_member_id_member', 'member', ['member_id'], ['id'])
        batch_op.create_foreign_key('fk_point_snapshot_member_organisation_id_organisation', 'organisation',
                                    ['organisation_id'], ['id'])
