# Two commands on a fresh machine:  make demo   (install + the main job)   make test   (the suite)
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip install -q --disable-pip-version-check
export OMP_WAIT_POLICY = PASSIVE

.PHONY: demo test test-fast bench install clean

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

test: $(VENV)/.full
	$(PY) -m pytest -q -ra

bench: $(VENV)/.base
	$(VENV)/bin/dssl-lite bench

clean:
	rm -rf $(VENV) *.egg-info
