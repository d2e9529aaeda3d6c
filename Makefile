# omnipower: `make demo` runs the main job, `make test` runs every test. Both set themselves up.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_CORE := $(PY) -m pytest -p no:homeassistant -p no:cacheprovider -W error
PYTEST_HA := $(PY) -m pytest -p no:cacheprovider

.PHONY: setup demo test lint typecheck test-core test-ha bench fuzz clean test-ha-current test-cluster

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || "$$(scripts/python313)" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[demo,test]' --config-settings editable_mode=compat
	$(PY) -m pip check
	@touch $@

setup: $(VENV)/.installed
	@scripts/ensure-mosquitto

# The main job: an emulated meter on a pty, the gateway on it, an embedded MQTT broker and a
# live view of the readings (Ctrl-C stops). `omnipower demo --help` lists the options.
demo: setup
	$(VENV)/bin/omnipower demo

# Only the trees that exist: the Home Assistant integration lands after the core.
PY_TREES = $(wildcard ccc_gateway meter_emulator custom_components benchmarks tests)
TYPED_TREES = $(wildcard ccc_gateway meter_emulator custom_components/omnipower benchmarks)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check $(PY_TREES)

typecheck: setup
	$(VENV)/bin/mypy $(TYPED_TREES)

test-core: setup
	$(PYTEST_CORE) tests --ignore=tests/components

test-ha: setup
	@if [ -d tests/components ]; then $(PYTEST_HA) tests/components; \
	else echo "test-ha: no Home Assistant tests yet (tests/components)"; fi

test: lint typecheck test-core test-ha

# Optional, slow the first time (builds a cached Python 3.14 chroot, needs root): the same
# Home Assistant tests on the newest Home Assistant release. Not part of `make test`.
test-ha-current:
	scripts/ha-current

# Optional, a few minutes, needs root (apt-get): 20 gateways and 200 emulated meters on a
# 3-node RabbitMQ cluster, one node killed mid-run; not part of `make test` (docs/cluster.md).
test-cluster: setup
	@command -v /usr/lib/rabbitmq/bin/rabbitmq-server >/dev/null || apt-get install -y -q rabbitmq-server
	$(PY) -m pip install -q -e '.[demo,test,cluster]' --config-settings editable_mode=compat
	$(PY) -m tests.cluster.run

bench: setup
	$(PY) -m benchmarks

# Issue 10: a million mutants of encrypted pushes; prints inputs, crashes, accepted-changed.
fuzz: setup
	$(PY) -m benchmarks.fuzz_push --inputs 1000000

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
