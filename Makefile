# Two commands: `make run` and `make test`.  Everything else is a helper for them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
LEARNING_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
export LEARNING_TEST_DATABASE_URL

.PHONY: run test install dev translations messages test-sqlite test-postgresql clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

translations: $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d learning/translations 2>&1 | tail -n 2

## Extract gettext strings and merge them into the catalogue (run after changing UI text).
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o learning/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i learning/translations/messages.pot -d learning/translations --no-fuzzy-matching --ignore-obsolete

## Serve the app on http://$(HOST):$(PORT) with the demo data (plain http, so no Secure cookies).
run: translations
	$(BIN)/learning db upgrade
	$(BIN)/learning demo --first-start
	$(BIN)/learning content import
	@echo "\nOpen http://$(HOST):$(PORT) and log in with one of the demo logins above."
	LEARNING_SESSION_COOKIE_SECURE=0 LEARNING_LOG_FORMAT=text $(BIN)/learning serve --embedded --host $(HOST) --port $(PORT)

## The whole suite, once on SQLite and once on PostgreSQL.
test: dev translations
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgresql

test-sqlite:
	LEARNING_TEST_DB=sqlite $(BIN)/pytest -q -p no:cacheprovider

test-postgresql:
	LEARNING_TEST_DB=postgresql $(BIN)/pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) build *.egg-info learning/translations/*/LC_MESSAGES/*.mo
