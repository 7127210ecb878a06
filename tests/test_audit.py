"""``make audit`` (scripts/audit.py): the waiver logic on pip-audit and npm audit JSON reports, and a
clear message with exit 69 when the advisory databases cannot be reached (this machine is offline).

Fixtures (tests/data/audit/): ``npm-audit-unreachable.json`` is what ``npm audit --json`` printed here,
where the registry refuses the advisory endpoint; ``pip-audit-report.json`` and ``npm-audit-report.json``
follow the tools' documented JSON formats with real advisories (pip-audit itself cannot run here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "audit"
PIP_REPORT, NPM_REPORT = DATA / "pip-audit-report.json", DATA / "npm-audit-report.json"
NPM_CLEAN = '{"auditReportVersion": 2, "vulnerabilities": {}, "metadata": {}}'


def audit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "audit.py"), *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, env=env)


def test_unwaived_vulnerabilities_fail_and_the_repository_waiver_covers_ecdsa(tmp_path):
    clean = tmp_path / "npm.json"
    clean.write_text(NPM_CLEAN)
    result = audit("--pip-audit-report", str(PIP_REPORT), "--npm-audit-report", str(clean), "--today", "2026-12-06")
    assert result.returncode == 1, result.stderr
    out = result.stdout.splitlines()
    assert [line.split()[0] for line in out[:-1]] == ["waived", "VULNERABLE", "VULNERABLE"]
    assert "ecdsa 0.19.2: GHSA-wj6h-64fc-37mp (CVE-2024-23342)" in out[0]
    assert "python-jose 3.3.0: PYSEC-2024-232 (CVE-2024-33663, GHSA-6c5p-j8vq-pqhj); fix: 3.4.0" in out[1]
    assert out[-1].startswith("audit: 2 unwaived, 1 waived")


def test_waivers_match_aliases_expire_and_need_a_reason(tmp_path):
    waivers = tmp_path / "waivers.toml"
    waivers.write_text('[[waiver]]\nid = "CVE-2024-33663"\nreason = "r"\n[[waiver]]\nid = "cve-2024-33664"\n'
                       'package = "python-jose"\nreason = "r"\n[[waiver]]\nid = "CVE-2024-23342"\nreason = "r"\n'
                       'expires = 2026-12-31\n[[waiver]]\nid = "GHSA-67mh-4wv8-2f99"\nreason = "dev server only"\n')
    both = ("--pip-audit-report", str(PIP_REPORT), "--npm-audit-report", str(NPM_REPORT), "--waivers", str(waivers))
    ok = audit(*both, "--today", "2026-12-31")
    assert ok.returncode == 0 and ok.stdout.splitlines()[-1].startswith("audit: 0 unwaived, 4 waived"), ok.stdout
    expired = audit(*both, "--today", "2027-01-01")
    assert expired.returncode == 1 and "VULNERABLE  pypi: ecdsa" in expired.stdout
    waivers.write_text('[[waiver]]\nid = "CVE-2024-33663"\nreason = "  "\n')
    bad = audit(*both)
    assert bad.returncode == 1 and "waiver 1 needs an id and a reason" in bad.stderr


def test_npm_findings_name_the_advisory_and_its_fix(tmp_path):
    empty = tmp_path / "pip.json"
    empty.write_text('{"dependencies": []}')
    result = audit("--pip-audit-report", str(empty), "--npm-audit-report", str(NPM_REPORT),
                   "--waivers", str(tmp_path / "none.toml"))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == ("VULNERABLE  npm: esbuild <=0.24.2: GHSA-67mh-4wv8-2f99; "
                                             "fix: vite 6.1.0")


def test_offline_is_a_clear_message_and_exit_69(tmp_path):
    npm = audit("--pip-audit-report", str(PIP_REPORT), "--npm-audit-report", str(DATA / "npm-audit-unreachable.json"))
    assert npm.returncode == 69 and npm.stdout == ""
    assert npm.stderr.startswith("audit: npm audit cannot reach its advisory database (405 Method Not Allowed")
    assert "run `make audit` on a machine with internet access" in npm.stderr
    lock = tmp_path / "requirements.lock"
    lock.write_text("fastapi==0.115.0\n")
    offline_pip_audit = (f"{sys.executable} -c \"import sys; sys.stderr.write("
                         "'requests.exceptions.ConnectionError: HTTPSConnectionPool(host=pypi.org, port=443): "
                         "Max retries exceeded\\\\n'); sys.exit(1)\"")
    pip = audit("--lock", str(lock), env={"PATH": "/usr/bin:/bin", "PIP_AUDIT": offline_pip_audit})
    assert pip.returncode == 69 and "pip-audit cannot reach its advisory database" in pip.stderr, pip.stderr
    missing = audit("--lock", str(tmp_path / "nope.lock"))
    assert missing.returncode == 66 and "no Python lock file at" in missing.stderr
