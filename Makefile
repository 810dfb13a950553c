# Two commands on a fresh machine:  make demo   (install + the main job)   make test   (the suite)
# CPU-only machine (no CUDA libraries, a much smaller install): add
#   TORCH_INDEX=https://download.pytorch.org/whl/cpu   to the first make call, e.g. make demo TORCH_INDEX=...
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(PY) -m pip install -q --disable-pip-version-check -c constraints.txt
TORCH_INDEX ?=
export OMP_WAIT_POLICY = PASSIVE

.PHONY: demo test bench bench-flower install notebooks lab voila clean

# torch and torchvision are ranges in pyproject.toml; constraints.txt pins the tested versions.
# The install ends by compiling the lesson scale's local step once into torch.compile's per-user
# cache (`dssl-lite warm`, a minute or two): every later process loads it in seconds.
$(VENV)/.base: pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(if $(TORCH_INDEX),$(PIP) torch torchvision --index-url $(TORCH_INDEX))
	$(PIP) -e .
	$(VENV)/bin/dssl-lite warm
	touch $@

$(VENV)/.full: $(VENV)/.base
	$(PIP) -e ".[lab,notebooks,ray,test]"
	touch $@

install: $(VENV)/.full

demo: $(VENV)/.base
	$(VENV)/bin/dssl-lite demo

# The browser test drives Debian's Chromium (never a downloaded browser); notebooks run under
# nbmake in quick mode (CI=true). The tests run in a new random order each time (pytest-randomly);
# the last line names the seed that repeats it (--randomly-seed=N).
test: $(VENV)/.full
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium) \
	  >/dev/null 2>&1 || echo "note: chromium could not be installed; the browser test will skip"
	CI=true $(PY) -m pytest -q -ra --durations=20 tests --nbmake notebooks

bench: $(VENV)/.base
	$(VENV)/bin/dssl-lite bench

# The same FedAvg job in Flower's simulation engine and in dssl-lite, side by side (minutes; makes
# its own venv for Flower, which is not a dependency). Not part of `make test`.
bench-flower: $(VENV)/.base
	$(PY) benchmarks/flower/run.py

# notebooks/*.ipynb are generated from notebooks/src/*.py (jupytext percent format)
notebooks: $(VENV)/.full
	$(PY) scripts/make_notebooks.py

lab: $(VENV)/.full
	$(VENV)/bin/jupyter lab notebooks/00_explorer.ipynb

voila: $(VENV)/.full
	$(VENV)/bin/voila notebooks/00_explorer.ipynb  # voila.json: only the extensions the explorer uses

clean:
	rm -rf $(VENV) *.egg-info build dist
