"""`make audit` (scripts/audit.py) against a stand-in pip-audit: it fails on a vulnerability,
accepts one listed with a reason, and says so — exiting 0 — when the service cannot answer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DJANGO_VULN = {
    "name": "django",
    "version": "5.2.0",
    "vulns": [
        {
            "id": "PYSEC-2099-1",
            "aliases": ["CVE-2099-0001"],
            "fix_versions": ["5.2.9"],
            "description": "",
        }
    ],
}
CLEAN = {"name": "celery", "version": "5.4.0", "vulns": []}
UNKNOWN = {"name": "vrplib", "skip_reason": "Dependency not found on PyPI and could not be audited"}


def fake_pip_audit(tmp_path: Path, *, stdout: str = "", stderr: str = "", code: int = 0) -> str:
    script = tmp_path / "pip-audit"
    script.write_text(
        "import sys\n"
        f"sys.stdout.write({stdout!r})\n"
        f"sys.stderr.write({stderr!r})\n"
        f"sys.exit({code})\n"
    )
    return f"{sys.executable} {script}"


def audit(tmp_path: Path, command: str, exceptions: str = "") -> subprocess.CompletedProcess:
    exceptions_file = tmp_path / "exceptions.txt"
    exceptions_file.write_text(exceptions)
    return subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "scripts" / "audit.py")],
        env={
            "PIP_AUDIT": command,
            "AUDIT_EXCEPTIONS": str(exceptions_file),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=False,
    )


def report(*deps) -> str:
    return json.dumps({"dependencies": list(deps), "fixes": []})


def test_a_known_vulnerability_fails_the_audit(tmp_path):
    result = audit(tmp_path, fake_pip_audit(tmp_path, stdout=report(DJANGO_VULN, CLEAN), code=1))
    assert result.returncode == 1
    assert "django 5.2.0: PYSEC-2099-1 (fixed in 5.2.9)" in result.stdout


def test_a_listed_exception_with_its_reason_passes(tmp_path):
    command = fake_pip_audit(tmp_path, stdout=report(DJANGO_VULN, CLEAN), code=1)
    result = audit(
        tmp_path, command, "CVE-2099-0001  only the MySQL backend is affected; we use PostgreSQL\n"
    )
    assert result.returncode == 0, result.stdout
    assert "CVE-2099-0001 excepted: only the MySQL backend is affected" in result.stdout


def test_an_exception_without_a_reason_is_refused(tmp_path):
    command = fake_pip_audit(tmp_path, stdout=report(DJANGO_VULN), code=1)
    result = audit(tmp_path, command, "PYSEC-2099-1\n")
    assert result.returncode != 0
    assert "needs a reason" in result.stderr


def test_a_stale_exception_is_reported(tmp_path):
    result = audit(
        tmp_path, fake_pip_audit(tmp_path, stdout=report(CLEAN)), "GHSA-old  was fixed\n"
    )
    assert result.returncode == 0
    assert "GHSA-old matches nothing any more" in result.stdout


def test_no_vulnerability_passes_and_names_what_was_not_checked(tmp_path):
    result = audit(tmp_path, fake_pip_audit(tmp_path, stdout=report(CLEAN, UNKNOWN)))
    assert result.returncode == 0
    assert "1 dependencies checked" in result.stdout
    assert "not checked (unknown to the service): vrplib" in result.stdout
    assert "no known vulnerability" in result.stdout


@pytest.mark.parametrize(
    ("stdout", "stderr"),
    [
        # the service cannot be reached at all
        (
            "",
            "requests.exceptions.ConnectionError: Max retries exceeded with url: /pypi/django/json",
        ),
        # it answers, but for no dependency (here: a mirror without vulnerability data)
        (report(UNKNOWN, {**UNKNOWN, "name": "django"}), ""),
    ],
)
def test_an_unreachable_service_is_said_and_exits_zero(tmp_path, stdout, stderr):
    result = audit(tmp_path, fake_pip_audit(tmp_path, stdout=stdout, stderr=stderr, code=1))
    assert result.returncode == 0
    assert "audit NOT done" in result.stdout


def test_pip_audit_crashing_otherwise_fails(tmp_path):
    result = audit(tmp_path, fake_pip_audit(tmp_path, stderr="Traceback: KeyError 'x'", code=1))
    assert result.returncode == 2
