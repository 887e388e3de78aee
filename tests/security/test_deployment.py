"""Production mode: cookies, keys only from the environment, nothing secret in the repository or
in the logs, and card numbers never posted to us."""

from __future__ import annotations

import json
import logging
import re
import subprocess

import pytest

from tests.essentiels.test_settings import PRODUCTION_ENV, ROOT, manage

COOKIES = (
    "from django.conf import settings as s; import json; "
    "print(json.dumps({k: getattr(s, k) for k in ("
    "'SESSION_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SESSION_COOKIE_SAMESITE', "
    "'CSRF_COOKIE_SECURE', 'CSRF_COOKIE_SAMESITE', 'LANGUAGE_COOKIE_SECURE', "
    "'LANGUAGE_COOKIE_HTTPONLY', 'LANGUAGE_COOKIE_SAMESITE', 'OSCAR_BASKET_COOKIE_SECURE', "
    "'OSCAR_RECENTLY_VIEWED_COOKIE_SECURE', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', "
    "'SECRET_KEY', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'STRIPE_PUBLISHABLE_KEY', "
    "'TRUSTED_PROXIES')}))"
)


@pytest.fixture(scope="module")
def production_settings() -> dict:
    result = manage("shell", "-v0", "-c", COOKIES, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_cookies_are_secure_httponly_and_samesite(production_settings):
    s = production_settings
    for flag in (
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "CSRF_COOKIE_SECURE",
        "LANGUAGE_COOKIE_SECURE",
        "LANGUAGE_COOKIE_HTTPONLY",
        "OSCAR_BASKET_COOKIE_SECURE",
        "OSCAR_RECENTLY_VIEWED_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
    ):
        assert s[flag] is True, flag
    for cookie in ("SESSION", "CSRF", "LANGUAGE"):
        assert s[f"{cookie}_COOKIE_SAMESITE"] == "Lax"
    assert s["SECURE_HSTS_SECONDS"] >= 31536000


def test_production_keys_come_from_the_environment(production_settings):
    s = production_settings
    for name in (
        "SECRET_KEY",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_PUBLISHABLE_KEY",
    ):
        assert s[name] == PRODUCTION_ENV[name]
    # behind nginx on the same machine unless told otherwise
    assert s["TRUSTED_PROXIES"] == ["127.0.0.1", "::1"]


@pytest.mark.parametrize(
    "variable",
    ["SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_PUBLISHABLE_KEY"],
)
def test_production_has_no_default_for_a_secret(variable):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != variable}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert f"Configuration error: {variable} is required" in result.stderr


# Shapes of real credentials. Test keys of localstripe (sk_test_localstripe…) are not secrets.
SECRET_SHAPES = re.compile(
    r"(sk|rk)_live_[0-9A-Za-z]{8,}"
    r"|whsec_[0-9A-Za-z]{24,}"
    r"|AKIA[0-9A-Z]{16}"
    r"|-----BEGIN (RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"
    r"|xox[baprs]-[0-9A-Za-z-]{10,}"
)


def tracked_files() -> list[str]:
    listing = subprocess.run(
        ["/usr/bin/git", "ls-files", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,  # noqa: S607
    )
    return [name for name in listing.stdout.decode().split("\0") if name]


def test_no_credential_is_committed():
    found = []
    for name in tracked_files():
        path = ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        found += [f"{name}: {match.group(0)[:12]}…" for match in SECRET_SHAPES.finditer(text)]
    assert not found, found


def test_settings_modules_read_every_secret_from_the_environment():
    # A literal for SECRET_KEY or a Stripe key is only allowed as a dev/test default, marked so.
    for path in sorted((ROOT / "essentiels" / "settings").glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(r"\s*(SECRET_KEY|STRIPE_SECRET_KEY|STRIPE_WEBHOOK_SECRET)\s*=", line):
                assert "env" in line or "required_str" in line, f"{path.name}:{number}: {line}"
                literal = re.search(r"default=\"([^\"]*)\"", line)
                if literal:
                    assert path.name in ("base.py", "dev.py", "test.py"), f"{path.name}:{number}"
                    assert "localstripe" in literal.group(1) or "not-secret" in literal.group(1)


# --- the card never reaches us -------------------------------------------------------------


@pytest.mark.django_db
def test_stripe_sdk_logs_name_calls_but_never_keys_or_bodies(settings, localstripe_url):
    """Even with LOG_LEVEL=DEBUG, the stripe logger stays at INFO (base.py's LOGGING)."""
    from payments.services.customers import stripe_customer_ensure

    settings.STRIPE_API_BASE = localstripe_url
    settings.STRIPE_SECRET_KEY = "sk_test_must_not_be_logged_42"
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    root = logging.getLogger()
    handler, level = Keep(level=logging.DEBUG), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # what LOG_LEVEL=DEBUG does
    try:
        stripe_customer_ensure(email="journal@example.fr")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    stripe_lines = [r.getMessage() for r in records if r.name.startswith("stripe")]
    assert any("Request to Stripe api" in line for line in stripe_lines)
    everything = "\n".join(r.getMessage() for r in records)
    assert "sk_test_must_not_be_logged_42" not in everything
    assert "journal@example.fr" not in "\n".join(stripe_lines)
    assert not [r for r in records if r.name.startswith("stripe") and r.levelno < logging.INFO]
