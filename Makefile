# Two commands on a fresh machine:  make demo   (install + the main job)   make test   (the suite)
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip install -q --disable-pip-version-check
export OMP_WAIT_POLICY = PASSIVE

.PHONY: demo test test-fast bench bench-flower install clean

$(VENV)/.base: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) -e .
	touch $@

$(VENV)/.full: $(VENV)/.base
	$(PIP) -e ".[lab,notebooks,ray,test]"
	touch $@

install: $(VENV)/.full

demo: $(VENV)/.base
	$(VENV)/bin/dssl-lite demo

# The browser test drives Debian's Chromium (never a downloaded browser); notebooks run under
# nbmake in quick mode (CI=true).
test: $(VENV)/.full
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium) \
	  >/dev/null 2>&1 || echo "note: chromium could not be installed; the browser test will skip"
	CI=true $(PY) -m pytest -q -ra tests --nbmake notebooks

bench: $(VENV)/.base
	$(VENV)/bin/dssl-lite bench

# The same FedAvg job in Flower's simulation engine and in dssl-lite, side by side (minutes; makes
# its own venv for Flower, which is not a dependency). Not part of `make test`.
bench-flower: $(VENV)/.base
	$(PY) benchmarks/flower/run.py

clean:
	rm -rf $(VENV) *.egg-info
