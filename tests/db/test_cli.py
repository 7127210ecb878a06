"""``babelroom migrate`` and ``babelroom set-user`` (how the first admin is made) as a deployment
runs them: subprocesses pointed at the database by BABELROOM_DATABASE_URL."""

import os
import subprocess
import sys


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BABELROOM_DATABASE_URL": database_url, "BABELROOM_LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", "babelroom.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_migrate_and_set_user(gateway, accounts, database_url):
    migrated = cli(database_url, "migrate")
    assert migrated.returncode == 0 and "database at head" in migrated.stdout, migrated.stderr
    ana = accounts.create(name="Ana")
    made = cli(database_url, "set-user", ana.email.upper(), "--role", "admin", "--tier", "pro")
    assert made.returncode == 0, made.stderr
    me = gateway.get("/api/me", headers=ana.headers).json()["user"]
    assert (me["role"], me["tier_name"]) == ("admin", "pro")
    assert gateway.get("/api/admin/users", headers=ana.headers).status_code == 200
    missing = cli(database_url, "set-user", "nobody@example.org", "--role", "admin")
    assert missing.returncode == 1 and "no account" in missing.stderr
    assert cli(database_url, "set-user", ana.email).returncode == 2  # neither --role nor --tier


def test_the_tier_choices_are_the_seeded_tiers(seed_tiers):
    from babelroom.accounts import TierName

    assert [t["name"] for t in sorted(seed_tiers, key=lambda t: t["rank"])] == list(TierName)
