"""PostgreSQL persistence: models, sessions, migrations and the embedded server."""
