"""Diarization is a Pro room option: Free and Premium get the tier-limit body, Pro rooms turn it on
for ingest (the Redis flag) and show it."""

from __future__ import annotations

import pytest
import redis as sync_redis
from tests.api.test_tier_limits import assert_limit, room

from babelroom.diarization.buffer import room_flag


@pytest.mark.parametrize("tier", ["free", "premium"])
def test_free_and_premium_rooms_are_refused_diarization(gateway, accounts, redis_url, tier):
    user = accounts.create(tier)
    assert_limit(room(gateway, user, diarization=True), 403, "feature:diarization", None, tier)
    made = room(gateway, user)  # without it, the same account opens rooms
    assert made.status_code == 201 and made.json()["diarization"] is False


def test_a_pro_room_opts_in(gateway, accounts, redis_url):
    user = accounts.create("pro")
    made = room(gateway, user, diarization=True)
    assert made.status_code == 201, made.text
    room_id = made.json()["id"]
    assert made.json()["diarization"] is True
    assert gateway.get(f"/api/rooms/{room_id}", headers=user.headers).json()["diarization"] is True
    client = sync_redis.Redis.from_url(redis_url)
    assert client.exists(room_flag(room_id)) and client.ttl(room_flag(room_id)) > 3000
    plain = room(gateway, user, name="plain")
    assert plain.json()["diarization"] is False and not client.exists(room_flag(plain.json()["id"]))
