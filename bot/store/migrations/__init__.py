"""Alembic migrations, packaged with the code so an installed briefbot can migrate its own database."""
