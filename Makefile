# Everything runs from .venv, created on first use from the pinned requirements.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The PostgreSQL pass of `make test` runs when this server answers; unset to skip it.
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/postgres

# The browser tests drive Debian's Chromium; no browser build is ever downloaded (no `playwright install`).
CHROMIUM := /usr/bin/chromium

.PHONY: run test lint bench install install-run install-browser install-wrk migrate demo clean

# Running the site installs what it runs on (requirements.txt); the tests and tools
# (requirements-dev.txt: pytest, playwright, mypy, schemathesis...) come with test, lint and bench.
$(BIN)/.installed-run: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed: $(BIN)/.installed-run requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install-run: $(BIN)/.installed-run

install: $(BIN)/.installed

install-browser:
	@test -x $(CHROMIUM) || { \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

migrate: install-run
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py load_demo_orders

run: demo
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo ""
	@echo "  carsales is starting on http://$(HOST):$(PORT)/"
	@echo "  staff login:  staff / carsales-staff   (admin at http://$(HOST):$(PORT)/admin/)"
	@echo "  salesperson:  sales / carsales-sales   (the Salesperson group's powers only)"
	@echo "  buyer login:  buyer / carsales-buyer"
	@echo "  API docs:     http://$(HOST):$(PORT)/api/docs/"
	@echo "  Ctrl-C stops the web server and the worker."
	@echo ""
	@# The order emails' links (the worker has no request to read the address from) follow HOST and PORT.
	@# Debug off: a visitor gets the site's own error pages, never Django's debug pages with the
	@# settings in them (DEBUG=1 make run brings those back); uploaded photos are served all the same.
	@DJANGO_SETTINGS_MODULE=carsales.settings.dev CARSALES_SITE_URL=$${CARSALES_SITE_URL:-http://$(HOST):$(PORT)} \
		DEBUG=$${DEBUG:-0} SERVE_MEDIA=$${SERVE_MEDIA:-1} ALLOWED_HOSTS=$${ALLOWED_HOSTS:-localhost,127.0.0.1,$(HOST)} bash -c '\
		$(BIN)/python manage.py events_worker & worker=$$!; \
		trap "kill $$worker 2>/dev/null" EXIT INT TERM; \
		GUNICORN_BIND=$(HOST):$(PORT) $(BIN)/gunicorn carsales.wsgi --config gunicorn.conf.py'

# The browser tests (marked e2e, run last) are part of both passes; their failure screenshots
# are kept in var/e2e-artifacts.
test: install install-browser
	$(BIN)/pytest
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_TEST_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== PostgreSQL pass: $(PG_TEST_URL) =="; \
		DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest --output var/e2e-artifacts/postgresql; \
	else \
		echo "== PostgreSQL pass skipped: no server answers at $(PG_TEST_URL) (set PG_TEST_URL) =="; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy carsales
	$(BIN)/lint-imports

# Speed figures (carsales/benchmarks) and the executors' kill test, on SQLite then on PostgreSQL when it answers.
BENCH := -p no:cacheprovider -s -m "benchmark or slow" carsales/benchmarks carsales/notifications/tests/test_executor_kills.py
# The page benchmark's load generator: Debian's wrk, installed when missing.
install-wrk:
	@command -v wrk >/dev/null || { \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y wrk; }

bench: install install-wrk
	$(BIN)/pytest $(BENCH)
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_TEST_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== PostgreSQL pass: $(PG_TEST_URL) =="; \
		DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest $(BENCH); \
	fi

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
