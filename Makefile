# The README's two commands: `make run` and `make test`. Everything they need, they install.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Tests run with production-shaped settings (DEBUG off) but over plain HTTP.
TEST_ENV = DEBUG=0 SECRET_KEY=test-only-secret-key-not-for-production SECURE_SSL_REDIRECT=0 \
	SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 SECURE_HSTS_SECONDS=0 \
	STATIC_MANIFEST=0 WHITENOISE_USE_FINDERS=1
PYTEST_ARGS ?=

.PHONY: install dirs run test test-deps lint format worker beat bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

dirs:
	mkdir -p var/staticfiles

run: install dirs
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo
	DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

# Browser tests drive Debian's chromium (never a downloaded browser); the end-to-end test runs Debian's
# Prometheus Alertmanager. Installed with apt when missing, so no test is skipped for want of them.
test-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v prometheus-alertmanager >/dev/null 2>&1 || missing="$$missing prometheus-alertmanager"; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages for the test suite:$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

test: install dirs test-deps
	$(TEST_ENV) $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

worker: install
	$(BIN)/celery -A statux worker -Q ingest,analysis,rca,remediation,notify,default --loglevel INFO

beat: install
	$(BIN)/celery -A statux beat --loglevel INFO

bench: install
	$(BIN)/python bench/api.py
