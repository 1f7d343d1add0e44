"""Alembic's environment for both of Anxin's migration trees; the configuration (which tree,
which database) comes from ``bot.migrations.config``, never from an alembic.ini."""

from alembic import context

from bot import migrations

migrations.run_environment(context)
