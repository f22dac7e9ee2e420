# The two commands a newcomer needs are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench system-deps node-deps messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	# python-alipay-sdk and alipay-sdk-python both ship alipay/__init__.py; the first one's must win
	$(BIN)/pip install --quiet --no-deps --force-reinstall python-alipay-sdk==3.4.0
	touch $(STAMP)

install: $(STAMP)

run: install
	export ESSC_ISSUER=$${ESSC_ISSUER:-http://127.0.0.1:$(PORT)}; \
	  $(BIN)/essc init >/dev/null && $(BIN)/essc demo && $(BIN)/essc serve --port $(PORT)

# Debian's Chromium and CJK fonts for the browser tests (screenshots show Chinese, not boxes),
# HAProxy for the several-instances tests (tests/deploy, deploy/haproxy.cfg), and SoftHSM2, the
# PKCS#11 token the key ring's HSM tests keep their keys in (tests/keys/test_hsm.py); installed
# only when absent.
system-deps:
	@command -v chromium >/dev/null 2>&1 && test -d /usr/share/fonts/opentype/noto || { \
	  apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }
	@command -v haproxy >/dev/null 2>&1 || { \
	  apt-get update -qq && apt-get install -y -qq haproxy >/dev/null; }
	@command -v softhsm2-util >/dev/null 2>&1 || { \
	  apt-get update -qq && apt-get install -y -qq softhsm2 >/dev/null; }

node-deps:
	cd tests/js && npm ci --silent --no-audit --no-fund

test: install system-deps node-deps
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=25

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# For translators (docs/pages.md "Language"): collect the marked page words into messages.pot,
# merge them into every catalogue (new ids come in untranslated), and compile the .mo files,
# which are committed so that a clone runs without this step (tests/i18n checks they match).
BABEL_KEYWORDS := -k N_ -k Np_:1,2
messages: install
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --no-location --sort-output \
	  --project=essc-idp --copyright-holder=essc-idp -o idp/translations/messages.pot .
	$(BIN)/pybabel update -i idp/translations/messages.pot -d idp/translations --no-wrap \
	  --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d idp/translations --statistics

# bench.scale (docs/scaling.md) needs PostgreSQL at SCALE_POSTGRES; it loads essc_scale_<size>
# for each of SCALE_SIZES cardholders, measures, and drops them. Ten million (its load took 46
# minutes on the shared 2-core machine, docs/scaling.md): make bench SCALE_SIZES=10000,10000000
SCALE_SIZES ?= 10000
SCALE_POSTGRES ?= postgresql+psycopg://postgres@127.0.0.1:5432

# The peer, node-oidc-provider, at the version bench/peer/package-lock.json pins; it keeps its
# state in the Redis at redis://127.0.0.1:6379/0 (python -m bench.run --help for another, or --no-peer).
bench: install
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	cd bench/peer && npm ci --silent --no-audit --no-fund
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.portal_signin
	$(BIN)/python -m bench.qr_offline
	$(BIN)/python -m bench.scale --sizes $(SCALE_SIZES) --postgres $(SCALE_POSTGRES)

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
