"""Alembic migrations of the Kilowatt schema (applied by ``Database.migrate``)."""
