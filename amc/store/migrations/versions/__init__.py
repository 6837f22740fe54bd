"""Alembic revisions of the job store, oldest first (``v0001_...``)."""
