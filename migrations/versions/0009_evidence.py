"""evidence: attachments, blobs, inspections, staged uploads

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate may reference sqlmodel types)
from alembic import op

import models.types  # noqa: F401


revision: str = "0009"
down_revision: Union[str, None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('blob',
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    if op.get_bind().dialect.name == "postgresql":
        # Photos and scans are compressed already: keep them out of line and uncompressed, so reading a file
        # in pieces (substring) fetches only the pieces asked for.
        op.execute("ALTER TABLE blob ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_table('upload_stage',
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('login', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('token')
    )
    op.create_table('inspection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('visited_on', sa.Date(), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('inspectors', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('seen', sa.Text(), nullable=False),
    sa.Column('checked', sa.Text(), nullable=False),
    sa.Column('finding', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('recorded_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_finding'), ['finding'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_visited_on'), ['visited_on'], unique=False)

    op.create_table('inspection_problem',
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('logged', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], ),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], ),
    sa.PrimaryKeyConstraint('inspection_id', 'problem_id')
    )
    with op.batch_alter_table('inspection_problem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_problem_problem_id'), ['problem_id'], unique=False)

    op.create_table('attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('uploaded_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('thumbnail', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], ),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_inspection_id'), ['inspection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_problem_id'), ['problem_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_sha256'), ['sha256'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_sha256'))
        batch_op.drop_index(batch_op.f('ix_attachment_problem_id'))
        batch_op.drop_index(batch_op.f('ix_attachment_inspection_id'))
        batch_op.drop_index(batch_op.f('ix_attachment_event_id'))

    op.drop_table('attachment')
    with op.batch_alter_table('inspection_problem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_problem_problem_id'))

    op.drop_table('inspection_problem')
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_visited_on'))
        batch_op.drop_index(batch_op.f('ix_inspection_project_id'))
        batch_op.drop_index(batch_op.f('ix_inspection_finding'))

    op.drop_table('inspection')
    op.drop_table('upload_stage')
    op.drop_table('blob')
