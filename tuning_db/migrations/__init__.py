"""Alembic migrations of the tuning database (a package so that installs ship them)."""
