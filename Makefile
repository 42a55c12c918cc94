# Cineflux — the two commands are `make demo` and `make test`; both set themselves up.
#
# Needs on the machine: Python 3.11+ with venv, Node.js with npm, make, and for the browser
# tests Debian's `chromium` package, for bench/edge.py `nginx` and `wrk` (`make system-deps`
# installs them; CI does so itself).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP  := $(VENV)/.installed
SHAKA     := cineflux/web/static/vendor/shaka-player.dash.js cineflux/web/static/vendor/shaka-player.hls.js
DEBIAN_PACKAGES := chromium nginx wrk

.PHONY: setup demo serve test lint bench system-deps clean

setup: $(PY_STAMP) $(SHAKA)

# Reinstalled only when the dependencies change: a second run costs nothing.
$(PY_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# One build per stream format: a watch page loads only the parser it plays (a DASH page
# evaluates 588 kB of player instead of the full build's 831 kB).
$(SHAKA) &: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p cineflux/web/static/vendor
	cp $(addprefix node_modules/shaka-player/dist/,$(notdir $(SHAKA))) cineflux/web/static/vendor/

demo: setup
	$(BIN)/cineflux demo

serve: setup
	$(BIN)/cineflux serve

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check cineflux tests bench
	$(BIN)/ruff format --check cineflux tests bench
	$(BIN)/mypy

bench: setup
	@set -e; for script in bench/*.py; do \
		echo "== $$script"; $(BIN)/python $$script; \
	done

system-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES)

clean:
	rm -rf $(VENV) node_modules cineflux/web/static/vendor .mypy_cache .ruff_cache .pytest_cache
