"""docker-compose.yml and `make stack` describe one topology from one set of deploy/ files, and the
stack refuses a size that could exhaust PostgreSQL. (No Docker engine here: the compose file is
read, not run; the native stack runs in test_stack.py.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
STACK_SCRIPT = ROOT / "scripts" / "stack.sh"
RENDER = ROOT / "deploy" / "nginx" / "render.sh"


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def command(service: dict) -> str:
    value = service.get("command", "")
    return " ".join(value) if isinstance(value, list) else value


def render(env: dict[str, str]) -> str:
    return subprocess.run(  # noqa: S603
        ["sh", str(RENDER)],  # noqa: S607
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def web_services(services: dict) -> list[str]:
    return sorted(name for name, s in services.items() if command(s).startswith("gunicorn "))


def test_compose_runs_three_app_servers_one_worker_and_exactly_one_beat(services):
    webs = web_services(services)
    assert len(webs) >= 3
    for name in webs:
        assert "--config deploy/gunicorn.conf.py" in command(services[name])
    workers = [name for name, s in services.items() if " worker" in command(s)]
    beats = [name for name, s in services.items() if " beat" in command(s)]
    assert workers == ["worker"]
    assert beats == ["beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    assert {"nginx", "postgres", "redis", "localstripe"} <= services.keys()


def test_compose_nginx_renders_the_template_make_stack_renders(services):
    nginx = services["nginx"]
    # the same folder of deploy/ as scripts/stack.sh, through the same render script
    assert "./deploy/nginx:/etc/essentiels/nginx:ro" in nginx["volumes"]
    assert "/etc/essentiels/nginx/render.sh" in command(nginx)
    assert "deploy/nginx/render.sh" in STACK_SCRIPT.read_text()
    # balancing exactly the app servers the file defines
    upstreams = nginx["environment"]["APP_SERVERS"].split()
    assert sorted(upstream.split(":")[0] for upstream in upstreams) == web_services(services)
    rendered = render({k: str(v) for k, v in nginx["environment"].items()})
    for upstream in upstreams:
        assert f"server {upstream} max_fails=3 fail_timeout=10s;" in rendered
    assert "proxy_set_header X-Forwarded-Proto https;" in rendered


def test_the_proxy_rules_overwrite_forwarding_and_never_replay_a_post():
    rendered = render(
        {
            "APP_SERVERS": "127.0.0.1:1 127.0.0.1:2",
            "NGINX_LISTEN": "127.0.0.1:3",
            "STATIC_ROOT": "/srv/static/",
            "MEDIA_ROOT": "/srv/media",
        }
    )
    rules = [line.strip() for line in rendered.splitlines() if not line.strip().startswith("#")]
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in rules
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in rules
    assert not any("proxy_add_x_forwarded_for" in line for line in rules)
    assert "proxy_next_upstream error timeout;" in rules
    assert not any("non_idempotent" in line for line in rules)
    assert "alias /srv/static/;" in rules
    assert "${" not in "".join(rules)


def test_render_refuses_to_run_without_its_values():
    result = subprocess.run(  # noqa: S603
        ["sh", str(RENDER)],  # noqa: S607
        env={"PATH": os.environ["PATH"], "APP_SERVERS": "web1:8000"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "NGINX_LISTEN is required" in result.stderr


def test_compose_keeps_postgresql_connections_bounded(services):
    # (web servers + one reloading) × workers + Celery children + worker + beat + migrate
    workers = int(services["web1"]["environment"]["GUNICORN_WORKERS"])
    concurrency = int(command(services["worker"]).split("--concurrency=")[1].split()[0])
    max_connections = int(command(services["postgres"]).split("max_connections=")[1].split()[0])
    need = (len(web_services(services)) + 1) * workers + concurrency + 3
    assert need <= max_connections - 3


def stack_check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    db = settings.DATABASES["default"]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STACK_", "GUNICORN_"))}
    return subprocess.run(  # noqa: S603
        [str(STACK_SCRIPT), "check"],
        cwd=ROOT,
        env={
            **clean,
            "STACK_DIR": str(tmp_path / "stack"),
            "STACK_DATABASE_URL": (
                f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                f"{db['NAME']}"
            ),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_stack_refuses_a_size_that_could_exhaust_postgresql(tmp_path):
    # when the stack would run 1,000 servers × 4 workers (PostgreSQL allows 100 by default)
    too_many = stack_check(tmp_path, STACK_SERVERS="1000", GUNICORN_WORKERS="4")
    # then it refuses, saying what to change
    assert too_many.returncode == 1
    assert "could exhaust PostgreSQL" in too_many.stderr
    assert "GUNICORN_WORKERS" in too_many.stderr
    # and the default size fits
    default = stack_check(tmp_path)
    assert default.returncode == 0, default.stderr
    assert "3 servers + 1 reloading" in default.stdout


def test_each_gunicorn_worker_freezes_the_loaded_app_out_of_the_garbage_collector():
    import gc
    import runpy

    hooks = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert gc.get_freeze_count() == 0
    try:
        # when a worker has loaded the app
        hooks["post_worker_init"](worker=None)
        # then what is alive now is out of the collector's generations
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
