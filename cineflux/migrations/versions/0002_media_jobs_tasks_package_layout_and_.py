"""media jobs, tasks, package layout and rendition details

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 13:21:52.330564
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cineflux.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("source_key", sa.String(length=400), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("published_phase", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("playable_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_media_jobs_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_jobs")),
    )
    with op.batch_alter_table("media_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_jobs_title_id"), ["title_id"], unique=False)

    op.create_table(
        "media_tasks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["media_jobs.id"],
            name=op.f("fk_media_tasks_job_id_media_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_tasks")),
        sa.UniqueConstraint("job_id", "name", name=op.f("uq_media_tasks_job_id")),
    )
    with op.batch_alter_table("media_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_tasks_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_tasks_priority"), ["priority"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_tasks_state"), ["state"], unique=False)

    with op.batch_alter_table("media_packages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thumbnails", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="complete")
        )
        batch_op.add_column(sa.Column("layout", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("updated_at", cineflux.db.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("media_renditions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("track_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("average_bandwidth", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("frame_rate", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column("name", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("forced", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("vmaf", sa.Float(), nullable=True))

    with op.batch_alter_table("titles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("published_at", cineflux.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_titles_published_at"), ["published_at"], unique=False)

    # Titles ingested before jobs existed were published as soon as they had a package.
    op.execute(
        "UPDATE titles SET published_at = created_at "
        "WHERE id IN (SELECT title_id FROM media_packages)"
    )


def downgrade() -> None:
    with op.batch_alter_table("titles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_titles_published_at"))
        batch_op.drop_column("published_at")

    with op.batch_alter_table("media_renditions", schema=None) as batch_op:
        batch_op.drop_column("vmaf")
        batch_op.drop_column("forced")
        batch_op.drop_column("name")
        batch_op.drop_column("language")
        batch_op.drop_column("frame_rate")
        batch_op.drop_column("average_bandwidth")
        batch_op.drop_column("track_id")

    with op.batch_alter_table("media_packages", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("layout")
        batch_op.drop_column("status")
        batch_op.drop_column("thumbnails")

    with op.batch_alter_table("media_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_tasks_state"))
        batch_op.drop_index(batch_op.f("ix_media_tasks_priority"))
        batch_op.drop_index(batch_op.f("ix_media_tasks_job_id"))

    op.drop_table("media_tasks")
    with op.batch_alter_table("media_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_jobs_title_id"))

    op.drop_table("media_jobs")
