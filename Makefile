# Les Essentiels — the commands a developer and CI use. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000
LOCALSTRIPE_PORT ?= 8420
PYTEST_ARGS ?=

.PHONY: help install run test lint audit bench clean stack stack-stop stack-status

help:
	@echo "make run    - install, migrate, load the demo shop and serve it on http://$(HOST):$(PORT)"
	@echo "make test   - run the whole test suite against PostgreSQL and Redis on loopback"
	@echo "make lint   - ruff"
	@echo "make audit  - pip-audit: known vulnerabilities in the dependencies (needs the network)"
	@echo "make bench  - run every benchmark under bench/"
	@echo "make stack  - nginx + 3 gunicorn app servers + Celery worker and beat + localstripe on"
	@echo "              loopback (http://127.0.0.1:8100, see README); make stack-stop stops it"

# The virtualenv is rebuilt only when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	mkdir -p var
	DJANGO_SETTINGS_MODULE=essentiels.settings.dev $(BIN)/python manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=essentiels.settings.dev $(BIN)/python manage.py compilemessages --ignore ".venv/*" -v0
	DJANGO_SETTINGS_MODULE=essentiels.settings.dev $(BIN)/python manage.py load_demo --admin
	@# localstripe stands in for Stripe (payments and Stripe.js), and sends webhooks back to us;
	@# it stops with the shop.
	$(BIN)/localstripe --port $(LOCALSTRIPE_PORT) --from-scratch > var/localstripe.log 2>&1 & \
	  LOCALSTRIPE_PID=$$!; trap 'kill $$LOCALSTRIPE_PID 2>/dev/null' EXIT INT TERM; \
	  for i in $$(seq 1 50); do curl -sf -o /dev/null http://127.0.0.1:$(LOCALSTRIPE_PORT)/js.stripe.com/v3/ && break; sleep 0.2; done; \
	  curl -sf -o /dev/null -X POST http://127.0.0.1:$(LOCALSTRIPE_PORT)/_config/webhooks/dev \
	    -d url=http://$(HOST):$(PORT)/paiements/webhook/stripe/ -d secret=whsec_localstripe \
	    || echo "localstripe did not start: see var/localstripe.log"; \
	  STRIPE_API_BASE=http://127.0.0.1:$(LOCALSTRIPE_PORT) DJANGO_SETTINGS_MODULE=essentiels.settings.dev \
	    $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	scripts/services.sh ensure
	$(BIN)/python manage.py compilemessages --ignore ".venv/*" -v0
	DJANGO_SETTINGS_MODULE=essentiels.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Not part of `make test`: it asks PyPI's vulnerability data. Unreachable: says so, exits 0.
# Accepted vulnerabilities, each with its reason: audit-exceptions.txt.
audit: $(STAMP)
	$(BIN)/python scripts/audit.py

bench: $(STAMP)
	scripts/services.sh ensure
	@# bench_pages.py loads gunicorn with wrk (Debian's package), installed here when missing.
	@command -v wrk >/dev/null || { apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } \
	  || { echo "make bench needs wrk: apt-get install wrk" >&2; exit 1; }
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The deployment topology natively (scripts/stack.sh; its STACK_* variables are in the README).
stack: $(STAMP)
	scripts/stack.sh start

stack-stop:
	scripts/stack.sh stop

stack-status:
	scripts/stack.sh status

clean:
	rm -rf var/dev.sqlite3 .pytest_cache
