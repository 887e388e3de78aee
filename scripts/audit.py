"""`make audit`: known vulnerabilities in the installed dependencies, with pip-audit.

Fails (exit 1) on a vulnerability that audit-exceptions.txt does not list; passes otherwise. The
vulnerability service (PyPI's, asked by pip-audit) must answer: when it cannot be reached, or
answers for none of the dependencies, this says so and exits 0 — the audit did not happen, it did
not fail. A dependency the service knows nothing about is named as not checked.

audit-exceptions.txt: one vulnerability a line, ``<id> <why it does not apply or why we wait>``
(the id, or any of its aliases: PYSEC-…, GHSA-…, CVE-…); ``#`` starts a comment. An exception
without a reason is refused; one that no longer matches anything is reported, to be removed.

Environment (for tests): PIP_AUDIT, the command to run; AUDIT_EXCEPTIONS, the exceptions file.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNREACHABLE_SIGNS = (
    "ConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "Max retries exceeded",
    "Name or service not known",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "SSLError",
)


def exceptions_read(path: Path) -> dict[str, str]:
    exceptions: dict[str, str] = {}
    if not path.exists():
        return exceptions
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        vuln_id, _, reason = line.partition(" ")
        if not reason.strip():
            raise SystemExit(f"{path.name}:{number}: {vuln_id} needs a reason after its id.")
        exceptions[vuln_id] = reason.strip()
    return exceptions


def main() -> int:
    command = shlex.split(
        os.environ.get("PIP_AUDIT", f"{Path(sys.executable).parent / 'pip-audit'}")
    )
    exceptions = exceptions_read(
        Path(os.environ.get("AUDIT_EXCEPTIONS", ROOT / "audit-exceptions.txt"))
    )
    # --skip-editable: the project itself is not on PyPI.
    args = ["--skip-editable", "--progress-spinner", "off", "--format", "json"]
    try:
        result = subprocess.run(  # noqa: S603 — our own venv's pip-audit
            [*command, *args], capture_output=True, text=True, timeout=600, check=False
        )
    except subprocess.TimeoutExpired:
        print("audit: the vulnerability service did not answer within 10 minutes: audit NOT done.")
        return 0
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        if any(sign in result.stderr for sign in UNREACHABLE_SIGNS):
            print("audit: the vulnerability service cannot be reached: audit NOT done.")
            print("       " + result.stderr.strip().splitlines()[-1][:300])
            return 0
        print("audit: pip-audit failed:\n" + result.stderr, file=sys.stderr)
        return 2

    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    checked = [d for d in dependencies if "skip_reason" not in d]
    if dependencies and not checked:
        print(
            f"audit: the vulnerability service answered for none of the {len(dependencies)} "
            "dependencies (unreachable, or a mirror without vulnerability data): audit NOT done."
        )
        return 0

    used: set[str] = set()
    found = []
    for dep in checked:
        for vuln in dep.get("vulns", []):
            ids = {vuln["id"], *vuln.get("aliases", [])}
            excepted = ids & exceptions.keys()
            if excepted:
                used |= excepted
                continue
            found.append((dep["name"], dep["version"], vuln["id"], vuln.get("fix_versions", [])))

    print(f"audit: {len(checked)} dependencies checked against known vulnerabilities.")
    if skipped:
        names = ", ".join(f"{d['name']} {d.get('version', '')}".strip() for d in skipped)
        print(f"audit: {len(skipped)} not checked (unknown to the service): {names}")
    for vuln_id in sorted(used):
        print(f"audit: {vuln_id} excepted: {exceptions[vuln_id]}")
    for vuln_id in sorted(exceptions.keys() - used):
        print(f"audit: exception {vuln_id} matches nothing any more: remove it from the file.")
    if found:
        print(f"audit: {len(found)} known vulnerabilities:")
        for name, version, vuln_id, fixes in found:
            fix = f"fixed in {', '.join(fixes)}" if fixes else "no fix released"
            print(f"  {name} {version}: {vuln_id} ({fix})")
        print("Upgrade within the ranges of pyproject.toml, or list the id in audit-exceptions.txt")
        print("with the reason it does not apply.")
        return 1
    print("audit: no known vulnerability.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
