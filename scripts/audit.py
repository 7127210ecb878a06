#!/usr/bin/env python3
"""Audit the dependencies for known vulnerabilities (``make audit``). Needs internet access.

Runs ``pip-audit`` on the Python lock file (``--lock``, a pinned requirements file) and ``npm audit``
on the web app (``--frontend``, its package-lock.json), then fails on every vulnerability that no
waiver in ``audit-waivers.toml`` covers. A waiver names an advisory id (``GHSA-…``, ``PYSEC-…``,
``CVE-…``: a vulnerability matches by its id or any alias), optionally the package, always a reason,
and optionally an ``expires`` date after which it no longer applies::

    [[waiver]]
    id = "GHSA-wj6h-64fc-37mp"
    package = "ecdsa"
    reason = "python-jose pulls ecdsa in; we only sign HS256, ecdsa code never runs"
    expires = 2027-06-30

Exit status: 0 nothing unwaived; 1 unwaived vulnerabilities (listed) or a bad waivers file;
66 (EX_NOINPUT) no lock file; 69 (EX_UNAVAILABLE) an advisory database could not be reached (this
machine is offline) or pip-audit is not installed.

Sources: https://github.com/pypa/pip-audit (``--format json``),
https://docs.npmjs.com/cli/commands/npm-audit (``--json``, report version 2).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

EX_VULNERABLE = 1
EX_NOINPUT = 66
EX_UNAVAILABLE = 69
OFFLINE = re.compile(
    r"ConnectionError|NameResolutionError|Max retries exceeded|Temporary failure in name resolution|"
    r"Network is unreachable|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ECONNRESET|audit endpoint returned an error|"
    r"/security/advisories/bulk"
)


class AuditUnavailable(Exception):
    """An audit could not produce a report (offline, the tool missing); ``str`` says which and why."""


@dataclass(frozen=True)
class Finding:
    """One known vulnerability of one package version."""

    ecosystem: str  # "pypi" | "npm"
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fix: str

    def ids(self) -> set[str]:
        return {self.id.upper(), *(a.upper() for a in self.aliases)}

    def __str__(self) -> str:
        aliases = f" ({', '.join(self.aliases)})" if self.aliases else ""
        return f"{self.ecosystem}: {self.package} {self.version}: {self.id}{aliases}; fix: {self.fix or 'none yet'}"


@dataclass(frozen=True)
class Waiver:
    id: str
    reason: str
    package: str | None = None
    expires: dt.date | None = None

    def covers(self, finding: Finding, today: dt.date) -> bool:
        return (self.id.upper() in finding.ids()
                and (self.package is None or self.package.lower() == finding.package.lower())
                and (self.expires is None or today <= self.expires))


def load_waivers(path: Path) -> list[Waiver]:
    """The ``[[waiver]]`` entries of ``path`` (none if it does not exist).

    Raises:
        ValueError: an entry without ``id`` or without a non-empty ``reason``, or an unknown key.
    """
    if not path.is_file():
        return []
    waivers = []
    for n, entry in enumerate(tomllib.loads(path.read_text(encoding="utf-8")).get("waiver", []), start=1):
        unknown = set(entry) - {"id", "reason", "package", "expires"}
        if unknown or not entry.get("id") or not str(entry.get("reason", "")).strip():
            raise ValueError(f"{path}: waiver {n} needs an id and a reason (and no other keys than package, "
                             f"expires; got {sorted(entry)})")
        waivers.append(Waiver(entry["id"], entry["reason"], entry.get("package"), entry.get("expires")))
    return waivers


def pip_audit_findings(report: dict) -> list[Finding]:
    """Findings of a ``pip-audit --format json`` report (``{"dependencies": [{name, version, vulns}]}``)."""
    return [Finding("pypi", dep["name"], dep.get("version", "?"), vuln["id"], tuple(vuln.get("aliases", [])),
                    ", ".join(vuln.get("fix_versions", [])))
            for dep in report.get("dependencies", []) for vuln in dep.get("vulns", [])]


def npm_audit_findings(report: dict) -> list[Finding]:
    """Findings of an ``npm audit --json`` report (version 2): one per advisory a package is affected by
    directly (``via`` entries that are objects; string entries point at another affected package)."""
    findings = []
    for name, entry in report.get("vulnerabilities", {}).items():
        for via in entry.get("via", []):
            if isinstance(via, dict):
                advisory = str(via.get("url", "")).rsplit("/", 1)[-1] or str(via.get("source"))
                fix = entry.get("fixAvailable")
                fix_text = f"{fix['name']} {fix['version']}" if isinstance(fix, dict) else ("yes" if fix else "")
                findings.append(Finding("npm", via.get("name", name), via.get("range", "?"), advisory, (), fix_text))
    return findings


def report_of(tool: str, stdout: str, stderr: str, expected_key: str) -> dict:
    """The JSON report ``tool`` printed, or AuditUnavailable saying in one line why there is none.

    Raises:
        AuditUnavailable: no JSON object with ``expected_key``; "cannot reach its advisory database"
            when the output shows a network failure or an error answer of the advisory endpoint.
    """
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        report = None
    if isinstance(report, dict) and expected_key in report:
        return report
    said = ""
    if isinstance(report, dict):  # npm's error object: {"message": …} or {"error": {"summary": …}}
        error = report.get("error")
        said = str(report.get("message") or (error.get("summary") if isinstance(error, dict) else "") or "")
    text = f"{stderr}\n{stdout}"
    said = said or next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "no output")
    if OFFLINE.search(text):
        raise AuditUnavailable(f"{tool} cannot reach its advisory database ({said[:200]}); "
                               "run `make audit` on a machine with internet access")
    raise AuditUnavailable(f"{tool} gave no report: {said[:300]}")


def run_pip_audit(lock: Path, command: list[str]) -> list[Finding]:
    """Findings of ``pip-audit`` on the pinned requirements ``lock``, as pinned (no resolution through pip;
    the JSON format carries each vulnerability's aliases)."""
    proc = subprocess.run([*command, "-r", str(lock), "--no-deps", "--disable-pip", "--format", "json",
                           "--progress-spinner", "off"], capture_output=True, text=True)
    return pip_audit_findings(report_of("pip-audit", proc.stdout, proc.stderr, "dependencies"))


def run_npm_audit(frontend: Path) -> list[Finding]:
    """Findings of ``npm audit`` on ``frontend``'s package-lock.json."""
    proc = subprocess.run(["npm", "audit", "--json", "--package-lock-only"], cwd=frontend, capture_output=True,
                          text=True)
    return npm_audit_findings(report_of("npm audit", proc.stdout, proc.stderr, "vulnerabilities"))


def triage(findings: list[Finding], waivers: list[Waiver], today: dt.date) -> tuple[list[Finding], list[Finding]]:
    """``(unwaived, waived)`` findings."""
    waived = [f for f in findings if any(w.covers(f, today) for w in waivers)]
    return [f for f in findings if f not in waived], waived


def pip_audit_command() -> list[str]:
    """``$PIP_AUDIT``, else ``pip-audit`` next to this Python or on PATH.

    Raises:
        AuditUnavailable: none found.
    """
    if os.environ.get("PIP_AUDIT"):
        return shlex.split(os.environ["PIP_AUDIT"])
    beside = Path(sys.executable).with_name("pip-audit")
    found = str(beside) if beside.is_file() else shutil.which("pip-audit")
    if not found:
        raise AuditUnavailable("pip-audit is not installed: `pip install pip-audit` (or set PIP_AUDIT)")
    return [found]


def _say(line: str, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(line + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=Path("services/requirements.lock"))
    parser.add_argument("--frontend", type=Path, default=Path("frontend"))
    parser.add_argument("--waivers", type=Path, default=Path("audit-waivers.toml"))
    parser.add_argument("--pip-audit-report", type=Path, help="Triage this pip-audit JSON instead of running it")
    parser.add_argument("--npm-audit-report", type=Path, help="Triage this npm audit JSON instead of running it")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today(), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        waivers = load_waivers(args.waivers)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        _say(f"audit: {exc}", sys.stderr)
        return EX_VULNERABLE
    try:
        if args.pip_audit_report:
            findings = pip_audit_findings(report_of("pip-audit", args.pip_audit_report.read_text(), "",
                                                    "dependencies"))
        elif not args.lock.is_file():
            _say(f"audit: no Python lock file at {args.lock} (make lock; or AUDIT_LOCK=path)", sys.stderr)
            return EX_NOINPUT
        else:
            findings = run_pip_audit(args.lock, pip_audit_command())
        if args.npm_audit_report:
            findings += npm_audit_findings(report_of("npm audit", args.npm_audit_report.read_text(), "",
                                                     "vulnerabilities"))
        else:
            findings += run_npm_audit(args.frontend)
    except AuditUnavailable as exc:
        _say(f"audit: {exc}", sys.stderr)
        return EX_UNAVAILABLE
    unwaived, waived = triage(findings, waivers, args.today)
    for finding in waived:
        _say(f"waived      {finding}")
    for finding in unwaived:
        _say(f"VULNERABLE  {finding}")
    _say(f"audit: {len(unwaived)} unwaived, {len(waived)} waived ({args.waivers})")
    return EX_VULNERABLE if unwaived else 0


if __name__ == "__main__":
    sys.exit(main())
