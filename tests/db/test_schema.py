"""The migrations against the real (embedded) PostgreSQL: pgvector, the tier table of the design,
and a schema that matches the SQLAlchemy models exactly."""

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from tests.conftest import run_sql

from babelroom.db.models import Base

DESIGN = {  # tier: room min, participants, concurrent rooms, history days, requests/h, voice samples, vocabulary
    "free": (60, 6, 2, 7, 100, 0, 0),
    "premium": (180, 10, 5, 30, 500, 5, 0),
    "pro": (None, 20, 10, 90, 2000, None, 1000),
}
COLUMNS = ("room_minutes", "participants_per_room", "concurrent_rooms", "history_days", "requests_per_hour",
           "voice_samples", "vocabulary_terms")


def test_first_migration_creates_the_vector_extension(pg_database_url):
    rows = run_sql(pg_database_url, "SELECT extname FROM pg_extension WHERE extname = 'vector'",)
    assert rows == [{"extname": "vector"}]
    assert run_sql(pg_database_url, "SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector AS d") == [{"d": 1.0}]


def test_tiers_are_seeded_with_the_design_table(seed_tiers):
    by_name = {t["name"]: t for t in seed_tiers}
    assert [t["name"] for t in seed_tiers] == ["free", "premium", "pro", "enterprise"]
    for name, limits in DESIGN.items():
        assert tuple(by_name[name][c] for c in COLUMNS) == limits, name
    enterprise = by_name["enterprise"]
    assert enterprise["custom"] and enterprise["requests_per_hour"] is None and enterprise["voice_samples"] is None
    flags = {n: t["features"] for n, t in by_name.items()}
    assert all(f["quick_audio"] for f in flags.values())
    assert [n for n, f in flags.items() if f["voice_clone"]] == ["premium", "pro", "enterprise"]
    assert [n for n, f in flags.items() if f["diarization"] and f["document_context"]] == ["pro", "enterprise"]


def test_migrated_schema_matches_the_models(pg_database_url):
    async def diff():
        engine = create_async_engine(pg_database_url, poolclass=NullPool)
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}),
                                              Base.metadata)
            )

    assert asyncio.run(diff()) == []
