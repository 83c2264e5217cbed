"""Alembic revisions: ``0001_initial`` (CSMS core), later ones stack on top."""
