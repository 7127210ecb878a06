"""traefik/: both files parse, say what the design asks, and every router reaches a service of the stack."""

from __future__ import annotations

import opschecks


def test_static_config(stack_config):
    result = opschecks.check_traefik_static(stack_config=stack_config)
    assert result.ok, result.output
    data = result.data
    assert data["providers"]["swarm"]["exposedByDefault"] is False
    assert data["entryPoints"]["web"]["http"]["redirections"]["entryPoint"]["to"] == "websecure"


def test_static_config_renders_with_the_services_environment(stack_config):
    env = stack_config["services"]["traefik"]["environment"]
    text = opschecks.render_swarm_template(opschecks.TRAEFIK_STATIC.read_text(), env)
    import yaml

    acme = yaml.safe_load(text)["certificatesResolvers"]["letsencrypt"]["acme"]
    assert acme["email"] == opschecks.load_env_file()["ACME_EMAIL"]
    assert acme["storage"] == "/letsencrypt/acme.json"
    assert acme["caServer"].startswith("https://acme")


def test_dynamic_config():
    result = opschecks.check_traefik_dynamic()
    assert result.ok, result.output
    mws = result.data["http"]["middlewares"]
    assert {"security-headers", "rate-limit", "rate-limit-ws", "compress"} <= set(mws)
    assert "camera=(self)" in mws["security-headers"]["headers"]["permissionsPolicy"]


def test_every_router_points_at_a_service_of_the_stack(stack_config, traefik_dynamic, traefik_static):
    routers, services, _ = opschecks.traefik_objects(stack_config)
    assert {"gateway", "gateway-ws", "janus", "janus-ws", "grafana"} <= set(routers)
    for router, (owner, opts) in routers.items():
        assert opts["service"] in services, router
        assert services[opts["service"]][0] == owner, f"{router} routes to another swarm service's port"
    problems = [p for p in opschecks.stack_problems(stack_config, None, traefik_dynamic, traefik_static)
                if p.startswith(("router", "traefik service"))]
    assert not problems, "\n".join(problems)


def test_websocket_routes_are_sticky_and_health_checked(stack_config):
    _, services, _ = opschecks.traefik_objects(stack_config)
    ws = services["gateway-ws"][1]
    assert ws["loadbalancer.sticky.cookie.name"] == "babelroom_ws"
    for name in ("gateway", "gateway-ws"):
        opts = services[name][1]
        assert (opts["loadbalancer.healthcheck.path"], opts["loadbalancer.healthcheck.interval"],
                opts["loadbalancer.healthcheck.timeout"]) == ("/healthz", "10s", "30s")
