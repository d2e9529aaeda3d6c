# omnipower: `make demo` runs the main job, `make test` runs every test. Both set themselves up.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_CORE := $(PY) -m pytest -p no:homeassistant -p no:cacheprovider -W error
PYTEST_HA := $(PY) -m pytest -p no:cacheprovider
# The gateway and the emulator also support Python 3.11 (Debian 12, Raspberry Pi OS Bookworm):
# a second venv with the runtime and the core test tools only (no Home Assistant).
VENV311 := .venv311
PY311 := $(VENV311)/bin/python
# `make demo` needs the runtime and its embedded broker only: no Home Assistant, no test tools,
# no apt. Its own small venv, so trying the demo does not install the test stack.
VENV_DEMO := .venv-demo

.PHONY: setup setup311 demo test lint typecheck check-deploy test-core test-core-311 test-ha bench \
	fuzz clean test-ha-current test-cluster

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || "$$(scripts/python313)" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[demo,test]' --config-settings editable_mode=compat
	$(PY) -m pip check
	@touch $@

setup: $(VENV)/.installed
	@scripts/ensure-mosquitto

$(VENV311)/.installed: pyproject.toml
	@test -x $(PY311) || "$$(scripts/python311)" -m venv $(VENV311)
	$(PY311) -m pip install -q --upgrade pip
	$(PY311) -m pip install -q -e '.[demo,test-core]' --config-settings editable_mode=compat
	$(PY311) -m pip check
	@touch $@

setup311: $(VENV311)/.installed
	@scripts/ensure-mosquitto

$(VENV_DEMO)/.installed: pyproject.toml
	@test -x $(VENV_DEMO)/bin/python || \
		"$$(scripts/python313 2>/dev/null || command -v python3)" -m venv $(VENV_DEMO)
	$(VENV_DEMO)/bin/python -m pip install -q --upgrade pip
	$(VENV_DEMO)/bin/python -m pip install -q -e '.[demo]' --config-settings editable_mode=compat
	@touch $@

# The main job: an emulated meter on a pty, the gateway on it, an embedded MQTT broker and a
# live view of the readings (Ctrl-C stops). `omnipower demo --help` lists the options.
demo: $(VENV_DEMO)/.installed
	$(VENV_DEMO)/bin/omnipower demo

# Only the trees that exist: the Home Assistant integration lands after the core.
PY_TREES = $(wildcard ccc_gateway meter_emulator omnipower_demo omnipower-gateway custom_components \
	benchmarks tests)
TYPED_TREES = $(wildcard ccc_gateway meter_emulator omnipower_demo custom_components/omnipower \
	benchmarks)
CORE_TREES = $(wildcard ccc_gateway meter_emulator omnipower_demo benchmarks \
	omnipower-gateway/rootfs/options_to_toml.py)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check $(PY_TREES)

typecheck: setup
	$(VENV)/bin/mypy $(TYPED_TREES)
	$(VENV)/bin/mypy --python-version 3.11 $(CORE_TREES)

test-core: setup
	$(PYTEST_CORE) tests --ignore=tests/components

# The same gateway/emulator suite on Python 3.11.
test-core-311: setup311
	$(PY311) -m pytest -p no:cacheprovider -W error --timeout 300 tests --ignore=tests/components

test-ha: setup
	@if [ -d tests/components ]; then $(PYTEST_HA) tests/components; \
	else echo "test-ha: no Home Assistant tests yet (tests/components)"; fi

test: lint typecheck check-deploy test-core test-core-311 test-ha

# Optional, slow the first time (builds a cached Python 3.14 chroot, needs root): the same
# Home Assistant tests on the newest Home Assistant release. Not part of `make test`.
test-ha-current:
	scripts/ha-current

# The README's Raspberry Pi steps in a scratch root, and the systemd unit through systemd-analyze
# (verify, security <= 3.0). Needs root; part of `make test`.
check-deploy: setup
	scripts/check-deploy

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
	rm -rf $(VENV) $(VENV311) $(VENV_DEMO) .mypy_cache .ruff_cache .pytest_cache .hypothesis
