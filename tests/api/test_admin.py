"""The admin API: users, organisations, tiers as data, active rooms and capacity (drain: see
tests/rooms/test_rooms_api.py); nobody else may use it."""

from tests.conftest import TEST_SLOTS

from babelroom import metrics
from babelroom.rooms.upkeep import upkeep_once


def test_admins_only(gateway, accounts):
    user = accounts.create()
    for method, path in (("GET", "/api/admin/users"), ("GET", "/api/admin/capacity"), ("PUT", "/api/admin/tiers/free")):
        r = gateway.request(method, path, headers=user.headers, json={})
        assert r.status_code == 403 and r.json() == {"error": "forbidden", "detail": "admins only"}
    assert gateway.get("/api/admin/users").status_code == 401


def test_users_tiers_and_organisations(gateway, accounts):
    admin, ana = accounts.create(role="admin"), accounts.create(name="Ana")
    found = gateway.get("/api/admin/users", params={"email": ana.email[:8]}, headers=admin.headers).json()
    assert [u["id"] for u in found] == [ana.id]
    org = gateway.post("/api/admin/organisations", json={"name": "Acme", "limit_overrides": {"concurrent_rooms": 7}},
                       headers=admin.headers)
    assert org.status_code == 201
    assert gateway.post("/api/admin/organisations", json={"name": "Acme"}, headers=admin.headers).status_code == 409
    bad = gateway.post("/api/admin/organisations", json={"name": "X", "limit_overrides": {"bogus": 1}},
                       headers=admin.headers)
    assert bad.status_code == 422
    patched = gateway.patch(f"/api/admin/users/{ana.id}", headers=admin.headers, json={
        "tier": "enterprise", "organisation_id": org.json()["id"], "limit_overrides": {"voice_samples": 2}})
    assert patched.status_code == 200 and patched.json()["tier_name"] == "enterprise"
    limits = gateway.get("/api/me", headers=ana.headers).json()["effective"]["limits"]
    assert (limits["concurrent_rooms"], limits["voice_samples"], limits["requests_per_hour"]) == (7, 2, None)
    assert gateway.patch(f"/api/admin/users/{ana.id}", json={"tier": "gold"}, headers=admin.headers).status_code == 404
    put = gateway.put(f"/api/admin/organisations/{org.json()['id']}", headers=admin.headers,
                      json={"name": "Acme Ltd", "limit_overrides": {}})
    assert put.json()["name"] == "Acme Ltd"
    assert gateway.get("/api/admin/organisations", headers=admin.headers).json()[0]["name"] == "Acme Ltd"
    gateway.patch(f"/api/admin/users/{ana.id}", json={"disabled": True}, headers=admin.headers)
    assert gateway.get("/api/me", headers=ana.headers).status_code == 401
    assert gateway.post("/api/auth/login", json={"email": ana.email, "password": "password-123"}).status_code == 401


def test_tier_limits_are_data_an_admin_changes_at_once(gateway, accounts):
    admin, owner, guest = accounts.create(role="admin"), accounts.create(), accounts.create()
    free = next(t for t in gateway.get("/api/admin/tiers", headers=admin.headers).json() if t["name"] == "free")
    free["limits"]["participants_per_room"] = 1
    put = gateway.put("/api/admin/tiers/free", json={"limits": free["limits"], "features": free["features"]},
                      headers=admin.headers)
    assert put.status_code == 200 and put.json()["limits"]["participants_per_room"] == 1
    room_id = gateway.post("/api/rooms", json={"name": "solo"}, headers=owner.headers).json()["id"]
    refused = gateway.post(f"/api/rooms/{room_id}/join", json={}, headers=guest.headers)
    assert refused.status_code == 403 and refused.json()["allowed"] == 1
    free["limits"]["participants_per_room"] = -1
    assert gateway.put("/api/admin/tiers/free", json={"limits": free["limits"], "features": free["features"]},
                       headers=admin.headers).status_code == 400
    assert gateway.put("/api/admin/tiers/gold", json={"limits": free["limits"], "features": free["features"]},
                       headers=admin.headers).status_code == 404


def test_active_rooms_capacity_and_their_gauges(gateway, accounts):
    admin, owner = accounts.create(role="admin"), accounts.create()
    room_id = gateway.post("/api/rooms", json={"name": "live"}, headers=owner.headers).json()["id"]
    rooms = gateway.get("/api/admin/rooms", headers=admin.headers).json()
    assert [(r["id"], r["participants"]) for r in rooms] == [(room_id, 1)]
    pools = gateway.get("/api/admin/capacity", headers=admin.headers).json()
    assert [(p["pool"], p["slots"], p["used"]) for p in pools] == [("stt", TEST_SLOTS, 1), ("mt", TEST_SLOTS, 1)]
    assert pools[0]["instances"][0] == {"pool": "stt", "instance": "stt-test", "slots": TEST_SLOTS, "used": 1,
                                        "utilisation": 1 / TEST_SLOTS, "draining": False}
    state = gateway.app.state
    exported = gateway.portal.call(upkeep_once, state.rooms, state.db, set())
    assert exported == {("stt", "stt-test"), ("mt", "mt-test")}
    assert metrics.ROOMS_ACTIVE._value.get() == 1
    assert metrics.CAPACITY_SLOTS_USED.labels("stt", "stt-test")._value.get() == 1
    assert metrics.CAPACITY_SLOTS.labels("mt", "mt-test")._value.get() == TEST_SLOTS
