"""monitoring/: promtool checks, every design alert present and unit-tested, dashboards complete, and
every metric an alert, a dashboard or the autoscaler names is one the code exports."""

from __future__ import annotations

import json
import re

import opschecks
import yaml

DESIGN_ALERTS = {
    # critical
    "ServiceDown": "critical", "ServiceAbsent": "critical", "DependencyDown": "critical",
    "CpuSaturated": "critical", "MemoryCritical": "critical", "DiskAlmostFull": "critical",
    "ErrorRateHigh": "critical", "WebSocketErrorRateHigh": "critical", "CaptionLatencyCritical": "critical",
    # warning
    "CpuHigh": "warning", "MemoryHigh": "warning", "StageLatencyHigh": "warning", "CaptionLatencyHigh": "warning",
    "QueueDepthHigh": "warning", "CacheHitRateLow": "warning", "ModelInferenceSlow": "warning",
    "TtsLatencyHigh": "warning", "DiarizationJobsFailing": "warning", "DiarizationSlow": "warning",
}


def alerts() -> list[dict]:
    out = []
    for path in opschecks.RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            out.extend(r for r in group["rules"] if "alert" in r)
    return out


def test_promtool_check_config(promtool):
    result = opschecks.check_prometheus_config()
    assert result.ok, result.output


def test_promtool_check_rules(promtool):
    result = opschecks.check_rules()
    assert result.ok, result.output


def test_promtool_test_rules_fire_every_alert(promtool):
    result = opschecks.check_rule_tests()
    assert result.ok, result.output
    assert "SUCCESS" in result.output


def test_every_design_alert_exists_with_its_severity_and_duration():
    found = {}
    for rule in alerts():
        found.setdefault(rule["alert"], set()).add(rule["labels"]["severity"])
    assert set(found) == set(DESIGN_ALERTS)
    for name, severity in DESIGN_ALERTS.items():
        assert found[name] == {severity}, name
    by_name = {r["alert"]: r for r in alerts()}
    assert by_name["CpuSaturated"]["for"] == "10m" and "> 0.95" in by_name["CpuSaturated"]["expr"]
    assert by_name["CpuHigh"]["for"] == "5m" and "> 0.80" in by_name["CpuHigh"]["expr"]
    assert by_name["MemoryCritical"]["for"] == "5m" and "> 0.90" in by_name["MemoryCritical"]["expr"]
    assert by_name["ServiceDown"]["for"] == "5m"
    assert "> 0.95" in by_name["DiskAlmostFull"]["expr"]
    assert "> 0.05" in by_name["ErrorRateHigh"]["expr"]
    assert "> 3" in by_name["CaptionLatencyCritical"]["expr"]
    assert "> 10" in by_name["QueueDepthHigh"]["expr"]
    assert "< 0.20" in by_name["CacheHitRateLow"]["expr"]
    assert "babelroom_tts_first_audio_seconds_bucket" in by_name["TtsLatencyHigh"]["expr"]
    assert "> 1.5" in by_name["TtsLatencyHigh"]["expr"]


def test_every_alert_rule_fires_in_a_unit_test():
    tested: set[str] = set()
    for path in opschecks.RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                if case.get("exp_alerts"):
                    tested.add(case["alertname"])
    assert tested == set(DESIGN_ALERTS), f"never fired in a test: {set(DESIGN_ALERTS) - tested}"
    # ModelInferenceSlow has two rules (STT, MT): both must fire.
    fired_models = set()
    for path in opschecks.RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                if case["alertname"] == "ModelInferenceSlow":
                    fired_models |= {a["exp_labels"]["model"] for a in case.get("exp_alerts", [])}
    assert fired_models == {"stt", "mt"}


def test_alert_and_recording_metrics_are_exported_by_the_code():
    result = opschecks.check_rule_metric_names()
    assert result.ok, result.output


def test_dashboard_metrics_are_exported_by_the_code():
    assert opschecks.DASHBOARDS
    for path in opschecks.DASHBOARDS:
        result = opschecks.check_dashboard(path)
        assert result.ok, result.output


def test_autoscaler_queries_use_exported_metrics():
    problems = opschecks.metric_name_problems(opschecks.autoscaler_expressions())
    assert not problems, "\n".join(problems)


def test_catalogue_is_only_code_metrics_process_and_up():
    names = set(opschecks.metric_catalogue())
    assert "up" in names and "process_cpu_seconds_total" in names
    assert all(n == "up" or n.startswith(("babelroom_", "process_")) for n in names)
    # a name the code does not export is refused, and a label the metric does not have too
    assert opschecks.metric_name_problems([("x", "rate(babelroom_no_such_metric_total[5m])")])
    assert opschecks.metric_name_problems([("x", 'babelroom_bus_queue_depth{steam="audio"}')])
    assert not opschecks.metric_name_problems([("x", 'babelroom_bus_queue_depth{stream="audio", job="gateway"}')])


def test_dashboard_covers_latency_capacity_quality_cost_cache_errors():
    data = json.loads((opschecks.DASHBOARDS[0]).read_text())
    rows = [p["title"] for p in data["panels"] if p["type"] == "row"]
    assert rows == ["Latency", "Capacity", "Quality", "Cost per caption", "Cache and errors", "Voice (TTS)",
                    "Speaker labels (diarization)"]
    exprs = " ".join(e for _, e in opschecks.dashboard_expressions())
    for quantile in ("0.5", "0.95", "0.99"):
        assert (f"histogram_quantile({quantile}, sum by (stage, le) (rate(babelroom_stage_latency_seconds_bucket"
                in exprs)
        assert (f"histogram_quantile({quantile}, sum by (kind, le) (rate(babelroom_caption_latency_seconds_bucket"
                in exprs)
    for needle in ("babelroom_rooms_active", "babelroom_capacity_slots", "babelroom_bus_queue_depth",
                   "babelroom_stt_avg_logprob", "babelroom_stt_hallucination_drops_total",
                   "babelroom_mt_fallback_total",
                   "rate(process_cpu_seconds_total", "rate(babelroom_stt_audio_seconds_total",
                   "babelroom_mt_cache_hits_total", "babelroom_http_request_duration_seconds_count{status=~\"5..\"}",
                   "babelroom_ws_closed_total", "babelroom_bus_poison_total",
                   "histogram_quantile(0.95, sum by (backend, le) (rate(babelroom_tts_first_audio_seconds_bucket",
                   "histogram_quantile(0.5, sum by (backend, le) (rate(babelroom_tts_synthesis_seconds_bucket",
                   "babelroom_tts_real_time_factor_sum", "babelroom_tts_cache_total{result=\"hit\"}",
                   "babelroom_tts_fallback_total", "babelroom_tts_skipped_total",
                   "babelroom_diarization_jobs_total", "babelroom_diarization_seconds_bucket"):
        assert needle in exprs, needle


def test_grafana_provisioning_points_at_the_stack():
    ds = yaml.safe_load(opschecks.GRAFANA_DATASOURCES.read_text())["datasources"][0]
    assert ds["url"] == "http://prometheus:9090" and ds["uid"] == "prometheus"
    provider = yaml.safe_load((opschecks.ROOT / "monitoring/grafana/provisioning/dashboards/babelroom.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"


def test_prometheus_scrapes_swarm_every_15s():
    cfg = yaml.safe_load(opschecks.PROMETHEUS.read_text())
    assert cfg["global"]["scrape_interval"] == "15s"
    job = next(j for j in cfg["scrape_configs"] if j["job_name"] == "babelroom")
    sd = job["dockerswarm_sd_configs"][0]
    assert sd["role"] == "tasks" and sd["host"] == "tcp://socket-proxy:2375"
    relabel = {r.get("target_label") for r in job["relabel_configs"]}
    assert {"job", "instance", "service", "node"} <= relabel
    keep_net = next(r for r in job["relabel_configs"] if r.get("source_labels") == ["__meta_dockerswarm_network_name"])
    assert re.fullmatch(keep_net["regex"], "babelroom_backend")
