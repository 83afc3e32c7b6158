# A newcomer's two commands: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL := postgresql+psycopg://postgres@127.0.0.1:5432/test
# Tests that need PostgreSQL find it here; unset, they fail loudly (never skip).
export YIRONG_TEST_POSTGRES_URL ?= $(PG_URL)
YIRONG_BENCH_DATABASE_URL ?= $(PG_URL)

.PHONY: install lock demo test bench lint postgres clean messages

SWAGGER := src/yirong/api/static/swagger

# The API docs' front-end, from the npm registry at build time (pinned in
# package-lock.json) and shipped inside the package: nothing is fetched at run time.
$(SWAGGER)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent --ignore-scripts
	mkdir -p $(SWAGGER)
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
		node_modules/swagger-ui-dist/favicon-32x32.png node_modules/swagger-ui-dist/LICENSE $(SWAGGER)/
	touch $@

# The console's scripts (ECharts, htmx), from the same npm install, shipped likewise.
VENDOR := src/yirong/console/static/vendor
$(VENDOR)/.installed: $(SWAGGER)/.installed
	mkdir -p $(VENDOR)
	cp node_modules/echarts/dist/echarts.min.js node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/echarts/LICENSE $(VENDOR)/LICENSE.echarts
	cp node_modules/htmx.org/LICENSE $(VENDOR)/LICENSE.htmx
	touch $@

# Exactly the versions in requirements.lock, each checked against its hash (pip too,
# and the build backend: the project itself is built with what the lock installed).
$(VENV)/.installed: pyproject.toml requirements.lock $(SWAGGER)/.installed $(VENDOR)/.installed
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# The lock, refreshed: the newest versions pyproject.toml's ranges allow, with every
# file's hash, for Python 3.11 on Linux. `make lock UPGRADE=` only adds what
# pyproject.toml gained and keeps every other pin.
UPGRADE ?= --upgrade
lock: install
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet $(UPGRADE) \
		--extra dev --build-deps-for editable --allow-unsafe --generate-hashes \
		--strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file requirements.lock pyproject.toml

install: $(VENV)/.installed

demo: install
	$(BIN)/yirong demo

test: install postgres lint
	$(BIN)/pytest -n 2

bench: install postgres
	$(BIN)/yirong --database $(YIRONG_BENCH_DATABASE_URL) bench ledger
	$(BIN)/yirong --database $(YIRONG_BENCH_DATABASE_URL) bench preapproval --agents 100000
	$(BIN)/yirong --database $(YIRONG_BENCH_DATABASE_URL) bench eod --loans 1000000
	$(BIN)/yirong --database $(YIRONG_BENCH_DATABASE_URL) bench recon --lines 1000000
	$(BIN)/yirong --database $(YIRONG_BENCH_DATABASE_URL) bench recon-day --loans 1000000
	$(BIN)/yirong --database $(YIRONG_BENCH_DATABASE_URL) bench api
	$(BIN)/yirong --database $(YIRONG_BENCH_DATABASE_URL) bench pages --loans 1000000

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

# The local PostgreSQL 15 cluster, started if it is not running.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start && \
		for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }

clean:
	rm -rf $(VENV) node_modules $(SWAGGER) .pytest_cache .mypy_cache .ruff_cache .hypothesis yirong-demo.db*

# The console's strings: extracted from its code and templates, merged into each
# language's catalogue (then translate what is new; a test refuses an untranslated one).
CONSOLE := src/yirong/console
messages: install
	cd $(CONSOLE) && ../../../$(BIN)/pybabel extract -F babel.cfg -k _ -k tr:2 -k N_ \
		-o locale/messages.pot --no-location --omit-header --no-wrap .
	$(BIN)/pybabel update -i $(CONSOLE)/locale/messages.pot -d $(CONSOLE)/locale --no-wrap \
		--no-fuzzy-matching --ignore-obsolete
